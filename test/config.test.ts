import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ENV_VARIABLES, loadConfig, parseDuration } from '../src/config';
import { collect, spawnEntry } from './helpers/process';

describe('configuration', () => {
  it('gives every variable its documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: '.data',
      databaseUrl: undefined,
      temporal: { address: undefined, namespace: 'default', port: 7233, uiPort: 8233 },
      meta: { mode: undefined, graphVersion: 'v24.0' },
      cacheTtlMs: 4 * 3_600_000,
      refresh: {
        intervalMs: 3 * 3_600_000,
        spacingMs: 2_000,
        lookbackDays: 4,
        cooldownMs: 5 * 60_000,
        skipIfFresherMs: 90 * 60_000,
        backfillDays: 30,
      },
      readApiKeys: [],
      adminApiKeys: [],
      corsOrigins: [],
      logLevel: 'info',
    });
  });

  it('derives CACHE_TTL and REFRESH_SKIP_IF_FRESHER from REFRESH_INTERVAL unless they are set', () => {
    expect(loadConfig({ REFRESH_INTERVAL: '1h' })).toMatchObject({
      cacheTtlMs: 2 * 3_600_000,
      refresh: { skipIfFresherMs: 30 * 60_000 },
    });
    expect(loadConfig({ REFRESH_INTERVAL: '1h', CACHE_TTL: '3h', REFRESH_SKIP_IF_FRESHER: '0s' })).toMatchObject({
      cacheTtlMs: 3 * 3_600_000,
      refresh: { skipIfFresherMs: 0 },
    });
  });

  it('reads durations written as 500ms, 2s, 5m and 3h', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('3h')).toBe(10_800_000);
    expect(parseDuration('abc')).toBeUndefined();
    expect(parseDuration('10')).toBeUndefined();
    const config = loadConfig({ REFRESH_SPACING: '500ms', CACHE_TTL: '90m', REFRESH_COOLDOWN: '0s' });
    expect(config.refresh.spacingMs).toBe(500);
    expect(config.cacheTtlMs).toBe(5_400_000);
    expect(config.refresh.cooldownMs).toBe(0);
  });

  it('lists every bad value at once with what is expected', () => {
    let error: unknown;
    try {
      loadConfig({
        REFRESH_SPACING: 'abc',
        PORT: '70000',
        META_MODE: 'mock',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining([
        'PORT="70000": expected an integer port from 1 to 65535',
        'REFRESH_SPACING="abc": expected a duration such as 500ms, 2s, 5m or 3h',
        'META_MODE="mock": expected live or sandbox',
        'DATABASE_URL="mysql://x": expected a postgres:// or postgresql:// URL',
        'LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent',
      ]),
    );
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('names a bad secret and what is wrong with it, never its value', () => {
    const password = 'pw-Zr8q1xT5';
    const secrets: Record<string, string> = {
      READ_API_KEYS: 'reader-key-0123456789,rk-short9',
      ADMIN_API_KEYS: 'admin-short',
      TOKEN_ENCRYPTION_KEY: 'tek-not-32-bytes-long',
      DATABASE_URL: `mysql://app:${password}@db.internal:3306/cache`,
      META_GRAPH_URL: `ftp://meta:${password}@graph.example`,
      TEMPORAL_UI_URL: `http://ui:${password}@[::1`,
    };
    let error: unknown;
    try {
      loadConfig(secrets);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toEqual([
      'DATABASE_URL="mysql://***:***@db.internal:3306/cache": expected a postgres:// or postgresql:// URL',
      'TEMPORAL_UI_URL=(not a URL; value hidden, it may hold a password): expected an http(s) URL',
      'META_GRAPH_URL="ftp://***:***@graph.example/": expected an http(s) URL',
      'READ_API_KEYS=(value hidden): expected a comma-separated list of keys of at least 16 characters each (key 2 of 2 has 9)',
      'ADMIN_API_KEYS=(value hidden): expected a comma-separated list of keys of at least 16 characters each (key 1 of 1 has 11)',
      'TOKEN_ENCRYPTION_KEY=(value hidden): expected 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)',
    ]);
    for (const text of [message, ...problems]) {
      expect(text).not.toContain(password);
      for (const value of ['reader-key-0123456789', 'rk-short9', 'admin-short', 'tek-not-32-bytes-long'])
        expect(text).not.toContain(value);
    }
    expect(() =>
      loadConfig({ TOKEN_ENCRYPTION_KEY: 'a'.repeat(64), TOKEN_ENCRYPTION_KEY_PREVIOUS: 'b-not-a-key' }),
    ).toThrow(/^Invalid configuration:\n {2}- TOKEN_ENCRYPTION_KEY_PREVIOUS=\(value hidden\): expected 32 bytes/);
  });

  it('reads the Temporal TLS files at start, and names a missing or wrong one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-tls-'));
    const pem = (name: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `-----BEGIN ${name}-----\nAAAA\n-----END ${name}-----\n`);
      return file;
    };
    try {
      expect(loadConfig({}).temporal.tls).toBeUndefined();
      const ca = pem('CA');
      const tls = loadConfig({
        TEMPORAL_TLS_CA: ca,
        TEMPORAL_TLS_CERT: pem('CERT'),
        TEMPORAL_TLS_KEY: pem('KEY'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      }).temporal.tls;
      expect(tls?.serverRootCACertificate?.toString()).toContain('BEGIN CA');
      expect(tls?.clientCertPair?.crt.toString()).toContain('BEGIN CERT');
      expect(tls?.clientCertPair?.key.toString()).toContain('BEGIN KEY');
      expect(tls?.serverNameOverride).toBe('temporal.internal');
      // A CA alone: TLS without a client certificate.
      expect(loadConfig({ TEMPORAL_TLS_CA: ca }).temporal.tls).toEqual({
        serverRootCACertificate: fs.readFileSync(ca),
      });
      expect(() => loadConfig({ TEMPORAL_TLS_CERT: pem('CERT') })).toThrow(
        /TEMPORAL_TLS_KEY=\(unset\): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY together/,
      );
      const notPem = path.join(dir, 'key.txt');
      fs.writeFileSync(notPem, 'secret key material');
      let error: unknown;
      try {
        loadConfig({
          TEMPORAL_TLS_CA: path.join(dir, 'missing.pem'),
          TEMPORAL_TLS_CERT: pem('CERT'),
          TEMPORAL_TLS_KEY: notPem,
        });
      } catch (err) {
        error = err;
      }
      expect((error as ConfigError).problems).toEqual([
        `TEMPORAL_TLS_CA="${path.join(dir, 'missing.pem')}": cannot read the file (ENOENT)`,
        `TEMPORAL_TLS_KEY="${notPem}": expected a PEM file (-----BEGIN …)`,
      ]);
      expect((error as ConfigError).message).not.toContain('secret key material');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects keys and encryption keys that are too weak', () => {
    expect(() => loadConfig({ ADMIN_API_KEYS: 'short' })).toThrow(
      /ADMIN_API_KEYS=\(value hidden\): expected a comma-separated list/,
    );
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: 'abcd' })).toThrow(/TOKEN_ENCRYPTION_KEY=.*expected 32 bytes/);
    const key = 'a'.repeat(64);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: key }).tokenKeys?.current.key).toHaveLength(32);
    expect(loadConfig({ READ_API_KEYS: ' reader-key-0123456789 , other-reader-key-01 ' }).readApiKeys).toEqual([
      'reader-key-0123456789',
      'other-reader-key-01',
    ]);
  });

  it('reads a previous token key for rotation, each key with its own id, in hex or base64', () => {
    const current = 'a'.repeat(64);
    const previous = Buffer.alloc(32, 7).toString('base64');
    const { tokenKeys } = loadConfig({ TOKEN_ENCRYPTION_KEY: current, TOKEN_ENCRYPTION_KEY_PREVIOUS: previous });
    expect(tokenKeys?.current.key).toEqual(Buffer.from(current, 'hex'));
    expect(tokenKeys?.previous?.key).toEqual(Buffer.alloc(32, 7));
    expect(tokenKeys?.current.id).toMatch(/^[0-9a-f]{8}$/);
    expect(tokenKeys?.previous?.id).not.toBe(tokenKeys?.current.id);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: current }).tokenKeys?.previous).toBeUndefined();
  });

  it('refuses a previous token key alone or malformed, without printing the key', () => {
    const previous = 'b'.repeat(64);
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY_PREVIOUS: previous })).toThrow(
      /TOKEN_ENCRYPTION_KEY_PREVIOUS=\(value hidden\): set only beside TOKEN_ENCRYPTION_KEY/,
    );
    const truncated = 'c'.repeat(63);
    let error: unknown;
    try {
      loadConfig({ TOKEN_ENCRYPTION_KEY: 'a'.repeat(64), TOKEN_ENCRYPTION_KEY_PREVIOUS: truncated });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems).toEqual([
      'TOKEN_ENCRYPTION_KEY_PREVIOUS=(value hidden): expected 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)',
    ]);
    expect((error as Error).message).not.toContain(truncated);
  });

  it('documents every variable it reads in the README', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ENV_VARIABLES].sort());
  });

  it('stops a process with bad values: exit code 2, the list of problems, no stack trace', async () => {
    const run = collect(spawnEntry('api.ts', { REFRESH_SPACING: 'abc', PORT: '70000' }));
    const { code, stderr } = await run.exited;
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid configuration:');
    expect(stderr).toContain('  - PORT="70000": expected an integer port from 1 to 65535');
    expect(stderr).toContain('  - REFRESH_SPACING="abc": expected a duration such as 500ms, 2s, 5m or 3h');
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
