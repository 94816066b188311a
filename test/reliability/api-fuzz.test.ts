import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Client as TemporalClient } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger } from '../../src/boot/logger';
import { freePort } from '../../src/net';
import { createTemporalClient } from '../../src/temporal/client';
import { startTemporalDevServer, TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { createWorker } from '../../src/temporal/worker';
import { ADMIN_KEY, rawRequest, READ_KEY, startApi, TestApi } from '../helpers/api';
import { createRefreshStack, RefreshStack } from '../helpers/stack';

interface Parameter {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  schema: { type?: string; format?: string; pattern?: string; enum?: unknown[] };
}
interface Operation {
  path: string;
  method: string;
  parameters: Parameter[];
  body?: { properties?: Record<string, unknown> } & { oneOf?: { properties?: Record<string, unknown> }[] };
}

const RUNS = 1_200;
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];

describe('the HTTP API under generated requests', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let dir: string;
  let server: TemporalDevServer;
  let temporal: TemporalClient;
  let worker: { connection: NativeConnection; worker: Worker; running: Promise<void> } | undefined;

  beforeAll(async () => {
    // A Temporal of its own: the cycles and refreshes the generated requests start stay here,
    // instead of holding the one cycle id other test files start on the shared server.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-fuzz-'));
    [stack, server] = await Promise.all([
      createRefreshStack(),
      (async () =>
        startTemporalDevServer({
          binary: process.env.TEST_TEMPORAL_CLI_PATH!,
          port: await freePort(),
          dbFile: path.join(dir, 'temporal.db'),
          namespace: 'default',
        }))(),
    ]);
    temporal = createTemporalClient(server.address, 'default');
    // A worker there too, so cycles run and answer their progress query as in production.
    const connection = await NativeConnection.connect({ address: server.address });
    const started = await createWorker({
      connection,
      namespace: 'default',
      taskQueue: stack.taskQueue,
      db: stack.database.db,
      logger: createLogger('silent'),
      meta: stack.meta,
      tokenKeys: stack.tokenKeys,
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    });
    worker = { connection, worker: started, running: started.run() };
    api = await startApi(stack, { temporal });
  });

  afterAll(async () => {
    await api?.close();
    if (worker) {
      worker.worker.shutdown();
      await worker.running;
      await worker.connection.close();
    }
    await temporal?.connection.close();
    await server?.stop();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${RUNS} generated requests across every route of /openapi.json without a 5xx, every 4xx in the error shape`, async () => {
    const known = [await stack.addClient(), await stack.addClient()].map((c) => c.id);
    const document = (await api.request('/openapi.json', { key: null })).body as {
      paths: Record<
        string,
        Record<
          string,
          Omit<Operation, 'path' | 'method'> & {
            requestBody?: { content: Record<string, { schema: Operation['body'] }> };
          }
        >
      >;
    };
    const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        path,
        method: method.toUpperCase(),
        parameters: op.parameters ?? [],
        body: op.requestBody?.content['application/json']?.schema,
      })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(10);

    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constant(''),
      fc.constantFrom(
        'null',
        '-1',
        '0',
        '1e309',
        '2026-02-30',
        '../..',
        '%',
        "'; drop table clients; --",
        '\u0000',
        'ü'.repeat(300),
      ),
    );
    const uuid = fc.oneof(fc.constantFrom(...known), fc.uuid(), text);
    const day = fc.oneof(
      fc
        .date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10)),
      text,
    );
    const valueFor = (name: string, schema: Parameter['schema']) => {
      if (schema.enum?.length) return fc.oneof(fc.constantFrom(...schema.enum.map(String)), text);
      if (schema.format === 'uuid' || /id$/i.test(name)) return uuid;
      if (/period|from|to|date/i.test(name)) return day;
      if (schema.type === 'boolean' || /^(force|refresh)/i.test(name))
        return fc.oneof(fc.constantFrom('true', 'false', '1'), text);
      return text;
    };
    const json = fc.jsonValue({ maxDepth: 3 });
    const bodyFor = (op: Operation) => {
      const shapes = op.body?.oneOf ?? (op.body ? [op.body] : []);
      const objects = shapes.map((shape) =>
        fc.record(
          Object.fromEntries(
            Object.keys(shape.properties ?? {}).map(
              (key) => [key, fc.oneof(valueFor(key, {}), json, fc.constantFrom(...known))] as const,
            ),
          ),
          { requiredKeys: [] },
        ),
      );
      return fc.oneof(
        ...objects.map((o) => o.map((value) => ({ text: JSON.stringify(value) }))),
        json.map((value) => ({ text: JSON.stringify(value) })),
        fc.constantFrom(
          { text: '{' },
          { text: 'not json' },
          { text: '' },
          { text: JSON.stringify({ name: 'x'.repeat(17 * 1024) }) },
        ),
      );
    };

    const request = fc.constantFrom(...operations).chain((op) =>
      fc.record({
        op: fc.constant(op),
        method: fc.oneof(
          { weight: 12, arbitrary: fc.constant(op.method) },
          { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
          { weight: 1, arbitrary: fc.constantFrom(...http.METHODS.filter((m) => m !== 'CONNECT')) },
          { weight: 1, arbitrary: fc.stringMatching(/^[A-Z][A-Z-]{2,11}$/) },
        ),
        key: fc.constantFrom<string | null>(null, READ_KEY, ADMIN_KEY, ADMIN_KEY, 'not-a-key-of-this-service-000'),
        authorization: fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              (key: string) => `Basic ${Buffer.from(`user:${key}`).toString('base64')}`,
              (key: string) => `bearer    ${key}   `,
              (key: string) => `Bearer ${key} extra`,
              (key: string) => `Digest username="${key}"`,
              () => 'Bearer',
              () => 'Basic !!!',
              () => `Bearer ${'k'.repeat(5_000)}`,
            ),
          },
        ),
        accept: fc.option(
          fc.constantFrom('application/json', 'text/html', '*/*', 'image/png', ';;;/x', 'text/html;q=oops'),
          { nil: undefined },
        ),
        oversized: fc.oneof(
          { weight: 19, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 40_000 }) },
        ),
        segment: fc.oneof(
          { weight: 9, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: fc.oneof(
              fc.constantFrom(
                '..',
                '%2e%2e',
                '%',
                '%zz',
                '%E0%A4%A',
                '//',
                ';',
                '%00',
                'ü',
                '~',
                '.json',
                'x'.repeat(3_000),
              ),
              fc.webSegment(),
            ),
          },
        ),
        path: fc.record(
          Object.fromEntries(
            op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, valueFor(p.name, p.schema)]),
          ),
        ),
        query: fc.record(
          Object.fromEntries(
            op.parameters.filter((p) => p.in === 'query').map((p) => [p.name, valueFor(p.name, p.schema)]),
          ),
          { requiredKeys: [] },
        ),
        extra: fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), text), { nil: undefined }),
        body: fc.option(bodyFor(op), { nil: undefined, freq: op.body ? 5 : 1 }),
        contentType: fc.constantFrom(
          'application/json',
          'application/json',
          'application/json',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/merge-patch+json',
          ';;',
        ),
      }),
    );

    const seen = new Map<string, number>();
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let path = r.op.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
          encodeURIComponent(String(r.path[name] ?? '')),
        );
        // Sometimes a segment more, raw (`%`, `..`, `%00` as they are): what a path can carry.
        if (r.segment !== undefined) path += `/${r.segment}`;
        const query = new URLSearchParams(Object.entries(r.query).map(([k, v]): [string, string] => [k, String(v)]));
        if (r.extra) query.append(r.extra[0], r.extra[1]);
        if ([...query].length) path += `?${query}`;
        const sendsBody = r.body !== undefined && r.method !== 'GET';
        const headers: Record<string, string> = {};
        const authorization = r.key ? (r.authorization ? r.authorization(r.key) : `Bearer ${r.key}`) : undefined;
        if (authorization) headers.Authorization = authorization;
        if (r.accept) headers.Accept = r.accept;
        if (r.oversized) headers['X-Padding'] = 'p'.repeat(r.oversized);
        if (sendsBody) headers['Content-Type'] = r.contentType;
        const res = await rawRequest(api.url, {
          method: r.method,
          path,
          headers,
          body: sendsBody ? r.body!.text : undefined,
        });
        const label = `${r.method} ${r.op.path}`;
        seen.set(label, (seen.get(label) ?? 0) + 1);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const describe = () =>
          `${r.method} ${path} (key ${r.key?.slice(0, 5)}) → ${res.status} ${res.text.slice(0, 200)}`;
        if (res.status >= 500) problems.push(describe());
        // A HEAD answer has no body to carry the error shape.
        if (res.status >= 400 && res.status < 500 && r.method !== 'HEAD') {
          const body = res.body as { success?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
          const shaped =
            body?.success === false && typeof body.error?.code === 'string' && typeof body.error?.message === 'string';
          if (!shaped) problems.push(describe());
        }
        return res.status < 500;
      }),
      { numRuns: RUNS, seed: 7, endOnFailure: false },
    );
    expect(problems).toEqual([]);
    // Every route of the document was exercised.
    for (const op of operations) expect(seen.get(`${op.method} ${op.path}`) ?? 0).toBeGreaterThan(0);
    // The generated requests reach past validation too, not only the 4xx answers.
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
    process.stdout.write(
      `API fuzz: ${RUNS} requests over ${operations.length} operations; statuses ${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}\n`,
    );
  }, 120_000);
});
