import { ServiceError } from '@temporalio/client';
import { ApiError } from '../client';
import { ConfigError } from '../config';

/** The CLI's exit codes, the same for every command. */
export const EXIT = {
  ok: 0,
  /** The service reported a failure: an unknown client, a failed refresh, a cooldown. */
  failure: 1,
  /** The command line is wrong: a bad flag, a missing value, a client id that is not a UUID. */
  usage: 2,
  /** The API, Temporal or Postgres could not be reached, or answered that it is unavailable. */
  unreachable: 3,
} as const;

/** An expected failure: printed as one line (and a hint), never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, EXIT.usage, 'usage', hint);

export interface DescribedError {
  exitCode: number;
  code: string;
  message: string;
  hint?: string;
  status?: number;
  retryAfterSeconds?: number;
  /** Not an expected failure: worth a stack trace. */
  unexpected?: boolean;
}

const API_HINTS: Record<string, string> = {
  unauthorized: 'check --api-key or SMC_API_KEY (npm start prints its keys)',
  forbidden: 'this command needs an admin key (one of ADMIN_API_KEYS)',
  cycle_running: 'follow it with `social-media-cache refresh --wait`',
  token_invalid: 'replace the token: `social-media-cache clients update <id> --token-stdin`',
  temporal_unavailable: 'the API cannot reach Temporal; is the Temporal server up?',
  token_encryption_unavailable: 'set TOKEN_ENCRYPTION_KEY on the API',
};

/** gRPC's UNAVAILABLE and DEADLINE_EXCEEDED: Temporal did not answer. */
const UNREACHABLE_GRPC_CODES = new Set([14, 4]);

/** What to print and which exit code to use for any error a command throws. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof CliError) return { exitCode: err.exitCode, code: err.code, message: err.message, hint: err.hint };
  if (err instanceof ApiError) {
    const exitCode =
      err.status === 0 || err.status === 503
        ? EXIT.unreachable
        : [400, 413, 415].includes(err.status)
          ? EXIT.usage
          : EXIT.failure;
    const hint =
      err.retryAfterSeconds !== undefined
        ? `try again in ${err.retryAfterSeconds} s`
        : err.status === 0
          ? 'is the API running? set --api-url or SMC_API_URL'
          : API_HINTS[err.code];
    return {
      exitCode,
      code: err.code,
      message: err.message,
      hint,
      status: err.status || undefined,
      retryAfterSeconds: err.retryAfterSeconds,
    };
  }
  if (err instanceof ConfigError) return { exitCode: EXIT.usage, code: 'invalid_configuration', message: err.message };
  if (
    err instanceof ServiceError &&
    UNREACHABLE_GRPC_CODES.has((err.cause as { code?: number } | undefined)?.code ?? -1)
  ) {
    return {
      exitCode: EXIT.unreachable,
      code: 'temporal_unreachable',
      message: `Temporal did not answer: ${err.message}`,
      hint: 'check TEMPORAL_ADDRESS',
    };
  }
  return {
    exitCode: EXIT.failure,
    code: 'internal_error',
    message: err instanceof Error ? err.message : String(err),
    unexpected: true,
  };
}
