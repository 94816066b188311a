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
];

export type Logger = pino.Logger;

/** One JSON logger per process; pass `destination` to capture lines in tests. */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'social-media-cache' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
