import fs from 'node:fs';
import { z } from 'zod';
import { createKeyring, TokenKeyring } from './crypto';
import type { LogFormat } from './boot/logger';
import { DEFAULT_MAX_LANES } from './domain/lanes';
import { DEFAULT_METRICS_SETTING, parseMetricsSetting } from './domain/metric-settings';
import { EVENT_TYPES, type MetricName } from './domain/vocabulary';

/** Thrown by `loadConfig` with every problem found, so an operator fixes them all at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `2s`, `5m`, `3h`, `1d` into milliseconds; anything else is `undefined`. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]]);
}

/** Formats milliseconds the way the env variables are written (`2s`, `3h`, `1500ms`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const duration = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 2s, 5m or 3h' });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      const range =
        max === Number.MAX_SAFE_INTEGER
          ? `at least ${formatDuration(min)}`
          : `from ${formatDuration(min)} to ${formatDuration(max)}`;
      ctx.addIssue({ code: 'custom', message: `expected a duration ${range}` });
      return z.NEVER;
    }
    return ms;
  });

const integer = (min: number, max: number, what: string) =>
  z.string().transform((text, ctx) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const port = integer(1, 65_535, 'an integer port');

const boolean = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false' });
  return z.NEVER;
});

const list = z.string().transform((text) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

const url = (what: string, protocols: string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected ${what}` },
  );

const apiKeys = list.superRefine((keys, ctx) => {
  // Which key and how long it is, never the key itself: the message is printed at startup.
  const short = keys.flatMap((key, i) => (key.length < 16 ? [`key ${i + 1} of ${keys.length} has ${key.length}`] : []));
  if (short.length)
    ctx.addIssue({
      code: 'custom',
      message: `expected a comma-separated list of keys of at least 16 characters each (${short.join(', ')})`,
    });
});

const encryptionKey = z.string().refine((text) => decodeKey(text) !== undefined, {
  message: 'expected 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)',
});

/** Decodes TOKEN_ENCRYPTION_KEY or TOKEN_ENCRYPTION_KEY_PREVIOUS (64 hex characters or base64 of 32 bytes). */
export function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const satisfies readonly LogFormat[];

/** Every env variable with its default (README: Configuration); all are optional locally. */
const schema = z.object({
  PORT: port.prefault('3000'),
  HOST: z.string().min(1).prefault('127.0.0.1'),
  DATA_DIR: z.string().min(1).prefault('.data'),
  DATABASE_URL: url('a postgres:// or postgresql:// URL', ['postgres:', 'postgresql:']).optional(),
  POSTGRES_PORT: port.optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, { message: 'expected host:port, e.g. localhost:7233' })
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).prefault('default'),
  TEMPORAL_PORT: port.prefault('7233'),
  TEMPORAL_UI_PORT: port.prefault('8233'),
  TEMPORAL_UI_URL: url('an http(s) URL', ['http:', 'https:']).optional(),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  // Files, read at start: the CA that signed Temporal's frontend certificate, and this service's
  // client certificate and key when the frontend requires them (mTLS). Any of them turns TLS on.
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  META_MODE: z.enum(['live', 'sandbox'], { message: 'expected live or sandbox' }).optional(),
  META_GRAPH_URL: url('an http(s) URL', ['http:', 'https:']).optional(),
  META_GRAPH_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, { message: 'expected a Graph API version such as v24.0' })
    .prefault('v24.0'),
  META_TIMEOUT: duration(100, 300_000).prefault('15s'),
  // Both or neither: the app token (`id|secret`) that lets the worker ask Meta's debug_token about each client's token.
  META_APP_ID: z
    .string()
    .regex(/^\d{1,32}$/, { message: 'expected the numeric id of the Meta app' })
    .optional(),
  META_APP_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9]{8,128}$/, { message: 'expected the app secret: letters and digits' })
    .optional(),
  // The optional metrics kept beside the seed's four (README: Metrics).
  METRICS: z
    .string()
    .prefault(DEFAULT_METRICS_SETTING)
    .transform((text, ctx) => {
      const parsed = parseMetricsSetting(text);
      if ('metrics' in parsed) return parsed.metrics;
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }),
  METRIC_RETIRE_AFTER_CLIENTS: integer(2, 1_000, 'a whole number of clients').prefault('3'),
  // Unset: REFRESH_INTERVAL + 1h, see `cacheTtlMs`.
  CACHE_TTL: duration(1_000).optional(),
  REFRESH_INTERVAL: duration(60_000).prefault('3h'),
  REFRESH_SPACING: duration(0, 3_600_000).prefault('2s'),
  // auto: the fewest lanes that fit the fleet's starts in 80 % of REFRESH_INTERVAL (README: Scaling out).
  REFRESH_LANES: z
    .string()
    .prefault('auto')
    .transform((text, ctx) => {
      const value = text.trim().toLowerCase();
      if (value === 'auto') return 'auto' as const;
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (Number.isInteger(n) && n >= 1 && n <= 256) return n;
      ctx.addIssue({ code: 'custom', message: 'expected auto or a whole number of lanes from 1 to 256' });
      return z.NEVER;
    }),
  REFRESH_MAX_LANES: integer(1, 256, 'a whole number of lanes').prefault(String(DEFAULT_MAX_LANES)),
  // Today and 3 days before: a day is fetched again until it is 3 days old, when Meta's numbers have settled (48 h).
  REFRESH_LOOKBACK_DAYS: integer(1, 90, 'a whole number of days').prefault('4'),
  BACKFILL_DAYS: integer(1, 90, 'a whole number of days').prefault('30'),
  REFRESH_COOLDOWN: duration(0).prefault('5m'),
  // Unset: half of REFRESH_INTERVAL; 0 turns skipping off.
  REFRESH_SKIP_IF_FRESHER: duration(0).optional(),
  // Alerts (README: Events and alerts).
  ALERT_FAILING_AFTER: integer(1, 100, 'a whole number of refreshes').prefault('3'),
  EVENT_RETENTION: duration(3_600_000).prefault('30d'),
  WEBHOOK_ALLOW_INSECURE: boolean.prefault('false'),
  WEBHOOK_ALLOW_PRIVATE: boolean.prefault('false'),
  WEBHOOK_TIMEOUT: duration(500, 60_000).prefault('10s'),
  WEBHOOK_RETRY_INITIAL: duration(100, 3_600_000).prefault('10s'),
  WEBHOOK_RETRY_FOR: duration(10_000, 7 * 86_400_000).prefault('24h'),
  WEBHOOK_DISABLE_AFTER: duration(10_000).prefault('24h'),
  ALERT_EMAIL_TO: list
    .refine((addresses) => addresses.every((a) => /^[^\s@,]+@[^\s@,]+$/.test(a)), {
      message: 'expected a comma-separated list of e-mail addresses',
    })
    .prefault(''),
  ALERT_EMAIL_FROM: z
    .string()
    .regex(/^[^\s@]+@[^\s@]+$/, { message: 'expected an e-mail address' })
    .prefault('social-media-cache@localhost'),
  ALERT_EMAIL_EVENTS: list.prefault('*'),
  SMTP_URL: url('an smtp:// or smtps:// URL', ['smtp:', 'smtps:']).optional(),
  READ_API_KEYS: apiKeys.prefault(''),
  ADMIN_API_KEYS: apiKeys.prefault(''),
  TOKEN_ENCRYPTION_KEY: encryptionKey.optional(),
  TOKEN_ENCRYPTION_KEY_PREVIOUS: encryptionKey.optional(),
  CORS_ORIGINS: list.prefault(''),
  WORKER_METRICS_PORT: port.optional(),
  SHUTDOWN_GRACE: duration(0, 120_000).prefault('10s'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }).prefault('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS, { message: `expected one of ${LOG_FORMATS.join(', ')}` }).prefault('auto'),
});

type Env = z.output<typeof schema>;

/** Variables whose value is a secret (or holds one): a problem with them names the variable and never shows the value. */
const SECRET_VARIABLES = new Set([
  'READ_API_KEYS',
  'ADMIN_API_KEYS',
  'TOKEN_ENCRYPTION_KEY',
  'TOKEN_ENCRYPTION_KEY_PREVIOUS',
  'META_APP_SECRET',
]);
/** URLs may carry a user and password: shown with those masked, or not at all when they do not parse. */
const URL_VARIABLES = new Set(['DATABASE_URL', 'META_GRAPH_URL', 'TEMPORAL_UI_URL', 'SMTP_URL']);

/** A bad value as a problem may show it: secrets hidden, a URL's credentials masked. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (SECRET_VARIABLES.has(name)) return '(value hidden)';
  if (URL_VARIABLES.has(name)) {
    try {
      const url = new URL(value);
      if (url.username || url.password) {
        url.username = url.username ? '***' : '';
        url.password = url.password ? '***' : '';
      }
      return JSON.stringify(url.toString());
    } catch {
      return '(not a URL; value hidden, it may hold a password)';
    }
  }
  return JSON.stringify(value);
}

/** The SDK's `tls` connection option: the frontend's CA, this service's client certificate (mTLS), the name to verify. */
export interface TemporalTls {
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverNameOverride?: string;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  postgresPort?: number;
  temporal: {
    address?: string;
    namespace: string;
    port: number;
    uiPort: number;
    /** Where people open the Web UI (links on the status page). */
    uiUrl: string;
    cliPath?: string;
    /** TLS to the frontend (TEMPORAL_TLS_*), its files read; unset: plain gRPC. */
    tls?: TemporalTls;
  };
  meta: {
    mode?: 'live' | 'sandbox';
    graphUrl?: string;
    graphVersion: string;
    timeoutMs: number;
    /** META_APP_ID and META_APP_SECRET: unset, tokens are never checked with debug_token. A secret, never logged. */
    app?: { id: string; secret: string };
  };
  /** The metrics kept (METRICS): the seed's four and the optional ones chosen, in catalogue order. */
  metrics: MetricName[];
  /** Distinct clients Meta must refuse a metric for (within 7 days) before the fleet retires it. */
  retireAfterClients: number;
  /**
   * Age at which cached numbers turn stale. By default REFRESH_INTERVAL plus an hour: a client
   * is refreshed once per cycle, at about the same point of every cycle, so between two of its
   * refreshes pass one interval plus the difference of the two cycles' pace up to it. The hour
   * covers that difference (a cycle of 1,800 clients at 2 s takes an hour), so dashboards read
   * fresh numbers between cycles instead of starting an on-demand refresh the cycle is about to do.
   */
  cacheTtlMs: number;
  refresh: {
    intervalMs: number;
    spacingMs: number;
    lookbackDays: number;
    cooldownMs: number;
    /** A cycle passes over a client whose numbers were fetched less than this ago (`skipped_fresh`); 0: never. */
    skipIfFresherMs: number;
    /** Days fetched in the background when a client is added, its token replaced or its Instagram relinked. */
    backfillDays: number;
    /** REFRESH_LANES: clients started at once, each lane keeping the spacing. */
    lanes: 'auto' | number;
    /** REFRESH_MAX_LANES: the most lanes `auto` takes. */
    maxLanes: number;
  };
  alerts: {
    /** Consecutive failed refreshes before `client.failing`. */
    failingAfter: number;
    eventRetentionMs: number;
    policy: { allowInsecure: boolean; allowPrivate: boolean };
    timeoutMs: number;
    retry: { initialMs: number; maximumMs: number; forMs: number };
    disableAfterMs: number;
    /** ALERT_EMAIL_TO with SMTP_URL (which may hold a password: never logged). */
    email?: { to: string[]; smtpUrl: string; from: string; events: string[] };
  };
  readApiKeys: string[];
  adminApiKeys: string[];
  /** TOKEN_ENCRYPTION_KEY and, during a key rotation, TOKEN_ENCRYPTION_KEY_PREVIOUS. */
  tokenKeys?: TokenKeyring;
  corsOrigins: string[];
  workerMetricsPort?: number;
  /** How long a stopping API lets requests in flight finish before it cuts them off. */
  shutdownGraceMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: LogFormat;
}

/** The env variable names the service reads; docs and docker-compose are checked against it. */
export const ENV_VARIABLES = Object.keys(schema.shape) as (keyof Env)[];

/**
 * Reads every env variable once. Empty strings count as unset, so `PORT=` in a .env file
 * falls back to the default instead of failing.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const name of ENV_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value;
  }
  const parsed = schema
    .refine((e) => !e.TOKEN_ENCRYPTION_KEY_PREVIOUS || e.TOKEN_ENCRYPTION_KEY, {
      path: ['TOKEN_ENCRYPTION_KEY_PREVIOUS'],
      message: 'set only beside TOKEN_ENCRYPTION_KEY, the key that replaces it',
    })
    .refine((e) => !e.META_APP_ID === !e.META_APP_SECRET, {
      path: [input.META_APP_ID ? 'META_APP_SECRET' : 'META_APP_ID'],
      message: 'set META_APP_ID and META_APP_SECRET together: the app token is both',
    })
    .refine((e) => !e.ALERT_EMAIL_TO.length === !e.SMTP_URL, {
      path: [input.SMTP_URL ? 'ALERT_EMAIL_TO' : 'SMTP_URL'],
      message: 'set ALERT_EMAIL_TO and SMTP_URL together: e-mail alerts need both where and through which server',
    })
    .refine((e) => e.ALERT_EMAIL_EVENTS.every((t) => t === '*' || (EVENT_TYPES as readonly string[]).includes(t)), {
      path: ['ALERT_EMAIL_EVENTS'],
      message: `expected * or event types (${EVENT_TYPES.join(', ')})`,
    })
    .refine((e) => !e.TEMPORAL_TLS_CERT === !e.TEMPORAL_TLS_KEY, {
      path: [input.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'],
      message: 'set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY together: a client certificate needs its key',
    })
    .safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${shownValue(name, input[name])}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const tls = readTemporalTls(e);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    postgresPort: e.POSTGRES_PORT,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`,
      cliPath: e.TEMPORAL_CLI_PATH,
      ...(tls ? { tls } : {}),
    },
    meta: {
      mode: e.META_MODE,
      graphUrl: e.META_GRAPH_URL,
      graphVersion: e.META_GRAPH_VERSION,
      timeoutMs: e.META_TIMEOUT,
      ...(e.META_APP_ID && e.META_APP_SECRET ? { app: { id: e.META_APP_ID, secret: e.META_APP_SECRET } } : {}),
    },
    metrics: e.METRICS,
    retireAfterClients: e.METRIC_RETIRE_AFTER_CLIENTS,
    cacheTtlMs: e.CACHE_TTL ?? e.REFRESH_INTERVAL + 3_600_000,
    refresh: {
      intervalMs: e.REFRESH_INTERVAL,
      spacingMs: e.REFRESH_SPACING,
      lookbackDays: e.REFRESH_LOOKBACK_DAYS,
      cooldownMs: e.REFRESH_COOLDOWN,
      skipIfFresherMs: e.REFRESH_SKIP_IF_FRESHER ?? Math.floor(e.REFRESH_INTERVAL / 2),
      backfillDays: e.BACKFILL_DAYS,
      lanes: e.REFRESH_LANES,
      maxLanes: e.REFRESH_MAX_LANES,
    },
    alerts: {
      failingAfter: e.ALERT_FAILING_AFTER,
      eventRetentionMs: e.EVENT_RETENTION,
      policy: { allowInsecure: e.WEBHOOK_ALLOW_INSECURE, allowPrivate: e.WEBHOOK_ALLOW_PRIVATE },
      timeoutMs: e.WEBHOOK_TIMEOUT,
      retry: {
        initialMs: e.WEBHOOK_RETRY_INITIAL,
        maximumMs: Math.max(e.WEBHOOK_RETRY_INITIAL, Math.min(30 * 60_000, e.WEBHOOK_RETRY_FOR / 4)),
        forMs: e.WEBHOOK_RETRY_FOR,
      },
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER,
      ...(e.SMTP_URL && e.ALERT_EMAIL_TO.length
        ? {
            email: {
              to: e.ALERT_EMAIL_TO,
              smtpUrl: e.SMTP_URL,
              from: e.ALERT_EMAIL_FROM,
              events: e.ALERT_EMAIL_EVENTS,
            },
          }
        : {}),
    },
    readApiKeys: e.READ_API_KEYS,
    adminApiKeys: e.ADMIN_API_KEYS,
    tokenKeys: e.TOKEN_ENCRYPTION_KEY
      ? createKeyring(
          decodeKey(e.TOKEN_ENCRYPTION_KEY)!,
          e.TOKEN_ENCRYPTION_KEY_PREVIOUS ? decodeKey(e.TOKEN_ENCRYPTION_KEY_PREVIOUS) : undefined,
        )
      : undefined,
    corsOrigins: e.CORS_ORIGINS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    shutdownGraceMs: e.SHUTDOWN_GRACE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  };
}

/** The TEMPORAL_TLS_* files, read now so a wrong path stops the start with the variable's name, not a TLS error later. */
function readTemporalTls(e: Env): TemporalTls | undefined {
  if (!e.TEMPORAL_TLS_CA && !e.TEMPORAL_TLS_CERT && !e.TEMPORAL_TLS_SERVER_NAME) return undefined;
  const problems: string[] = [];
  const read = (name: 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY'): Buffer | undefined => {
    const file = e[name];
    if (!file) return undefined;
    try {
      const pem = fs.readFileSync(file);
      if (!pem.includes('-----BEGIN '))
        problems.push(`${name}=${JSON.stringify(file)}: expected a PEM file (-----BEGIN …)`);
      return pem;
    } catch (err) {
      problems.push(
        `${name}=${JSON.stringify(file)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return undefined;
    }
  };
  const ca = read('TEMPORAL_TLS_CA');
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  if (problems.length) throw new ConfigError(problems);
  return {
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
}
