import pino from 'pino';

/** Paths pino blanks out wherever they appear, so a token can never reach a log line. */
export const REDACTED_PATHS = [
  'accessToken',
  'access_token',
  'token',
  'authorization',
  'password',
  '*.accessToken',
  '*.access_token',
  '*.token',
  '*.password',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'meta_access_token_encrypted',
  '*.meta_access_token_encrypted',
  // A config logged whole or in part: its keys and the database URL's password.
  ...['readApiKeys', 'adminApiKeys', 'tokenKeys', 'databaseUrl', 'secret'].flatMap((name) => [name, `*.${name}`]),
];

export type Logger = pino.Logger;

/** `json`: a line per object for collectors; `pretty`: lines a person reads; `auto`: pretty on a terminal only. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether `format` prints readable lines here: `auto` does only when stdout is a terminal, so pipes and containers get JSON. */
export function isPretty(format: LogFormat, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && !!stdout.isTTY);
}

/**
 * One logger per process; pass `destination` to capture lines in tests (always JSON). Pretty
 * lines are formatted by pino-pretty on pino's transport thread, off the event loop; redaction
 * happens before, so a secret is blanked in either format.
 */
export function createLogger(
  level: string = 'info',
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'social-media-cache' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (!destination && isPretty(format)) {
    return pino(
      options,
      pino.transport({
        target: 'pino-pretty',
        options: { ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l', singleLine: true },
      }),
    );
  }
  return pino(options, destination);
}
