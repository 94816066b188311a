import { CommandSpec, parseCommandLine, stringOption } from './args';
import { alertCommands } from './commands/alerts';
import { clientCommands } from './commands/clients';
import { metricCommands } from './commands/metrics';
import { refreshCommand } from './commands/refresh';
import { scheduleCommands } from './commands/schedule';
import { statusCommand } from './commands/status';
import { tokenCommands } from './commands/tokens';
import { CliContext } from './context';
import { EXIT } from './errors';
import { CliIo, Output } from './output';
import { refuseTokenArguments } from './token';

export type { CliIo } from './output';
export { EXIT } from './errors';

/** Every command, in the order the help lists them. */
export const COMMANDS: CommandSpec[] = [
  statusCommand,
  refreshCommand,
  ...clientCommands,
  ...metricCommands,
  ...alertCommands,
  ...scheduleCommands,
  ...tokenCommands,
];

/**
 * Runs the CLI on `argv` (without node and the script) and answers its exit code. Every
 * error, expected or not, is printed here: as one JSON document with `--json`.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = new Output(io, argv.includes('--json'));
  let ctx: CliContext | undefined;
  try {
    refuseTokenArguments(argv);
    const parsed = parseCommandLine(argv, COMMANDS);
    if (parsed.kind === 'help') {
      out.result({ help: parsed.text }, parsed.text);
      return EXIT.ok;
    }
    ctx = new CliContext(out, {
      apiUrl: stringOption(parsed.values, 'api-url'),
      apiKey: stringOption(parsed.values, 'api-key'),
    });
    return (await parsed.command.run(ctx, parsed)) ?? EXIT.ok;
  } catch (err) {
    return out.error(err);
  } finally {
    await ctx?.close();
  }
}
