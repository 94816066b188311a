import { stringOption, Values } from './args';
import { CliError, EXIT, usageError } from './errors';
import type { CliIo } from './output';

export const TOKEN_OPTIONS = {
  'token-stdin': { type: 'boolean', description: 'read the Meta access token from stdin (typed hidden on a terminal)' },
  'token-env': { type: 'string', value: 'VAR', description: 'read the Meta access token from the env variable VAR' },
} as const;

/** The flags people reach for first; a token on the command line ends up in shell history and `ps`. */
const REFUSED = ['--token', '--access-token', '--meta-token'];

/** Refuses a token given on the command line, without echoing it. */
export function refuseTokenArguments(argv: string[]): void {
  const flag = argv.find((arg) => REFUSED.some((name) => arg === name || arg.startsWith(`${name}=`)));
  if (flag) {
    throw usageError(
      'the Meta token is never taken from the command line (it would stay in shell history and the process list)',
      'pipe it in with --token-stdin, or name an env variable that holds it with --token-env VAR',
    );
  }
}

/**
 * The token from stdin or an env variable, when one of the flags is given; `undefined`
 * otherwise. It is never printed.
 */
export async function readToken(io: CliIo, values: Values): Promise<string | undefined> {
  const fromEnv = stringOption(values, 'token-env');
  if (fromEnv !== undefined && values['token-stdin'])
    throw usageError('give the token one way: --token-stdin or --token-env, not both');
  if (fromEnv !== undefined) {
    const token = io.env[fromEnv]?.trim();
    if (!token) throw usageError(`the env variable ${fromEnv} (from --token-env) is not set or empty`);
    return token;
  }
  if (!values['token-stdin']) return undefined;
  const token = (
    io.stdin.isTTY && io.stdin.setRawMode
      ? await promptHidden(io, 'Meta access token (hidden): ')
      : await readAll(io.stdin)
  ).trim();
  if (!token)
    throw usageError(
      '--token-stdin: stdin held no token',
      'e.g. `printenv META_TOKEN | social-media-cache clients add … --token-stdin`',
    );
  return token;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return text;
}

/** Reads a line from the terminal with echo off. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      io.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new CliError('cancelled', EXIT.failure, 'cancelled'));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
