import { parseArgs } from 'node:util';
import type { CliContext } from './context';
import { usageError } from './errors';

export const PROGRAM = 'social-media-cache';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in help, e.g. `ID`. */
  value?: string;
  description: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface CommandInput {
  values: Values;
  positionals: string[];
}

export interface CommandSpec {
  /** The words that name it, e.g. `['clients', 'add']`. */
  words: string[];
  summary: string;
  /** Its synopsis after the words, e.g. `--name NAME --page-id ID`. */
  synopsis?: string;
  /** Names of its required positional arguments, e.g. `['ID']`. */
  positionals?: string[];
  options?: Record<string, OptionSpec>;
  /** More help text, one paragraph per entry. */
  details?: string[];
  /** Runs the command; returns its exit code (0 when nothing is returned). */
  run(ctx: CliContext, input: CommandInput): Promise<number | void>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  'api-url': {
    type: 'string',
    value: 'URL',
    description: 'API base URL (env SMC_API_URL; default http://127.0.0.1:$PORT)',
  },
  'api-key': {
    type: 'string',
    value: 'KEY',
    description: 'API key (env SMC_API_KEY; default: the admin key npm start made in DATA_DIR)',
  },
  json: { type: 'boolean', description: 'print one JSON document on stdout, errors included' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export type ParsedCommandLine =
  { kind: 'help'; text: string } | { kind: 'command'; command: CommandSpec; values: Values; positionals: string[] };

function parseArgsOptions(options: Record<string, OptionSpec>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
  );
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(([name, o]) => {
    const long = `--${name}${o.value ? ` ${o.value}` : ''}`;
    return [o.short ? `-${o.short}, ${long}` : `    ${long}`, o.description];
  });
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, description]) => `  ${label.padEnd(width)}  ${description}`);
}

/** The help of one command. */
export function commandHelp(command: CommandSpec): string {
  const synopsis = [PROGRAM, ...command.words, ...(command.positionals ?? []), command.synopsis ?? '', '[options]']
    .filter(Boolean)
    .join(' ');
  return [
    `Usage: ${synopsis}`,
    '',
    command.summary,
    ...(command.details ?? []).flatMap((paragraph) => ['', paragraph]),
    ...(command.options && Object.keys(command.options).length
      ? ['', 'Options:', ...optionLines(command.options)]
      : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
  ].join('\n');
}

/** The help listing every command (of one group, when `group` is given). */
export function overviewHelp(commands: CommandSpec[], group?: string): string {
  const shown = group ? commands.filter((c) => c.words[0] === group) : commands;
  const names = shown.map((c) => [...c.words, ...(c.positionals ?? [])].join(' '));
  const width = Math.max(...names.map((n) => n.length));
  return [
    `Usage: ${PROGRAM} ${group ?? '<command>'}${group ? ' <command>' : ''} [options]`,
    '',
    'Commands:',
    ...shown.map((c, i) => `  ${names[i].padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    `Run \`${PROGRAM} <command> --help\` for a command's options.`,
    'Exit codes: 0 ok, 1 the service reported a failure, 2 usage error, 3 the API, Temporal or Postgres is unreachable.',
  ].join('\n');
}

/**
 * Finds the command named by the first words of `argv` and parses its options strictly;
 * anything it does not know is a usage error naming the command's help.
 */
export function parseCommandLine(argv: string[], commands: CommandSpec[]): ParsedCommandLine {
  const every = Object.assign({}, GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})) as Record<
    string,
    OptionSpec
  >;
  // A first, lenient pass only to find the command words among the arguments.
  const loose = parseArgs({ args: argv, options: parseArgsOptions(every), strict: false, allowPositionals: true });
  const words = loose.positionals;
  const wantsHelp = loose.values.help === true;

  if (words[0] === 'help') return parseCommandLine([...words.slice(1), '--help'], commands);
  const command = commands
    .filter((c) => c.words.every((word, i) => words[i] === word))
    .sort((a, b) => b.words.length - a.words.length)[0];
  if (!command) {
    if (!words.length) {
      if (wantsHelp) return { kind: 'help', text: overviewHelp(commands) };
      throw usageError('no command given', `run \`${PROGRAM} --help\` for the list of commands`);
    }
    const group = commands.some((c) => c.words[0] === words[0]) ? words[0] : undefined;
    if (group && wantsHelp) return { kind: 'help', text: overviewHelp(commands, group) };
    const known = group
      ? commands.filter((c) => c.words[0] === group).map((c) => c.words.join(' '))
      : [...new Set(commands.map((c) => c.words[0]))];
    const what =
      group && words.length === 1
        ? `\`${group}\` needs a subcommand`
        : `unknown command \`${words.slice(0, 2).join(' ')}\``;
    throw usageError(
      `${what}; one of: ${known.join(', ')}`,
      `run \`${PROGRAM} ${group ?? ''} --help\``.replace('  ', ' '),
    );
  }
  if (wantsHelp) return { kind: 'help', text: commandHelp(command) };

  const helpHint = `run \`${PROGRAM} ${command.words.join(' ')} --help\``;
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: parseArgsOptions({ ...GLOBAL_OPTIONS, ...command.options }),
      strict: true,
      allowPositionals: true,
    }) as { values: Values; positionals: string[] };
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // Node adds advice on positionals that start with '-', which no command here takes.
      throw usageError((err as Error).message.replace(/\. To specify a positional argument[\s\S]*$/, ''), helpHint);
    }
    throw err;
  }
  const positionals = parsed.positionals.slice(command.words.length);
  const wanted = command.positionals ?? [];
  if (positionals.length < wanted.length)
    throw usageError(`missing ${wanted.slice(positionals.length).join(' ')}`, helpHint);
  if (positionals.length > wanted.length) {
    // The extra argument is not echoed: it may be a secret pasted in the wrong place.
    const takes = wanted.length ? `only ${wanted.join(' ')}` : 'no arguments';
    throw usageError(`\`${command.words.join(' ')}\` takes ${takes}, got ${positionals.length}`, helpHint);
  }
  return { kind: 'command', command, values: parsed.values, positionals };
}

/** A string option's value, or undefined. */
export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A string option that must be given. */
export function requiredOption(values: Values, name: string, command: CommandSpec): string {
  const value = stringOption(values, name);
  if (value === undefined || value.trim() === '') {
    throw usageError(`--${name} is required`, `run \`${PROGRAM} ${command.words.join(' ')} --help\``);
  }
  return value;
}
