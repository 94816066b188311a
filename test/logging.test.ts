import { bundleWorkflowCode, DefaultLogger, LogLevel } from '@temporalio/worker';
import { createLogger, isPretty } from '../src/boot/logger';
import { temporalLogMethod } from '../src/temporal/runtime';
import { WORKFLOWS_PATH } from '../src/temporal/worker';
import { createTestDatabase, TestDatabase } from './helpers/db';
import { collect, spawnEntry } from './helpers/process';

const isJson = (line: string): boolean => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

describe('log lines', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function migrate(env: NodeJS.ProcessEnv): Promise<string[]> {
    const { code, stdout, stderr } = await collect(spawnEntry('dev/migrate.ts', { DATABASE_URL: database.url, ...env }))
      .exited;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    return stdout.trim().split('\n');
  }

  it('are JSON when stdout is a pipe, as a log collector reads them, and readable lines when asked', async () => {
    const piped = await migrate({});
    expect(piped.length).toBeGreaterThan(0);
    expect(piped.filter((line) => !isJson(line))).toEqual([]);
    expect(piped.map((line) => JSON.parse(line).msg)).toContain('database schema is up to date');

    const pretty = await migrate({ LOG_FORMAT: 'pretty' });
    const line = pretty.find((l) => l.includes('database schema is up to date'));
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: database schema is up to date/);
    expect(pretty.filter(isJson)).toEqual([]);
  });

  it('refuses an unknown LOG_FORMAT by name', async () => {
    const { code, stderr } = await collect(
      spawnEntry('dev/migrate.ts', { DATABASE_URL: database.url, LOG_FORMAT: 'xml' }),
    ).exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/LOG_FORMAT.*expected one of auto, json, pretty/);
  });

  it('blanks the keys and the database URL of a config logged whole or nested', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    const config = {
      readApiKeys: ['reader-key-0123456789'],
      adminApiKeys: ['admin-key-0123456789'],
      databaseUrl: 'postgres://app:pw-Zr8q@db/x',
      port: 3000,
    };
    logger.info(config, 'whole');
    logger.info({ config }, 'nested');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      for (const secret of ['reader-key-0123456789', 'admin-key-0123456789', 'pw-Zr8q'])
        expect(line).not.toContain(secret);
      expect(line).toContain('3000');
    }
  });

  it('pretty-prints by default on a terminal only', () => {
    expect([isPretty('auto', { isTTY: true }), isPretty('auto', { isTTY: false }), isPretty('auto', {})]).toEqual([
      true,
      false,
      false,
    ]);
    expect([isPretty('json', { isTTY: true }), isPretty('pretty', { isTTY: false })]).toEqual([false, true]);
  });

  it("puts the workflow bundler's report at debug, and keeps Temporal's other lines at their level", async () => {
    const lines: { level: LogLevel; message: string }[] = [];
    await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: new DefaultLogger('TRACE', ({ level, message }) => lines.push({ level, message })),
    });
    const info = lines.filter((l) => l.level === 'INFO');
    expect(info.some((l) => l.message.includes('\n'))).toBe(true); // webpack's build output, the screenful
    expect(info.map((l) => temporalLogMethod(l.level, l.message))).toEqual(info.map(() => 'debug'));
    expect(temporalLogMethod('INFO', 'Worker state changed')).toBe('info');
    expect(temporalLogMethod('ERROR', 'asset workflow-bundle.js 1 MiB [emitted]')).toBe('error');
    expect(temporalLogMethod('WARN', 'Workflow bundle created')).toBe('warn');
  });
});
