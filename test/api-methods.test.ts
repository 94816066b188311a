import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ADMIN_KEY, rawRequest, RawResponse, READ_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const shaped = (res: RawResponse) =>
  res.body?.success === false &&
  typeof res.body.error?.code === 'string' &&
  typeof res.body.error?.message === 'string';

describe('every HTTP method on every path', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let paths: { path: string; methods: string[] }[];

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { CORS_ORIGINS: 'https://dashboard.example' } });
    const document = (await api.request('/openapi.json', { key: null })).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const client = await stack.addClient();
    paths = Object.entries(document.paths).map(([path, methods]) => ({
      path: path.replace(/\{\w+\}/g, client.id),
      methods: Object.keys(methods).map((m) => m.toUpperCase()),
    }));
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  it('never answers 5xx, and answers a method a path does not serve with 405 and Allow, in the error shape', async () => {
    expect(paths.length).toBeGreaterThanOrEqual(10);
    expect(http.METHODS.length).toBeGreaterThan(30);
    const problems: string[] = [];
    let checked = 0;
    for (const { path, methods } of [...paths, { path: `/no/such/path/${randomUUID()}`, methods: [] }]) {
      const served = new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : [])]);
      for (const method of http.METHODS) {
        // An admin key gets past auth, so the answer is about the method, not the key.
        const res = await rawRequest(api.url, { method, path, headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
        checked++;
        const label = `${method} ${path} → ${res.status} ${res.text.slice(0, 120)}`;
        if (res.status >= 500) problems.push(label);
        else if (served.has(method)) continue;
        else if (method === 'OPTIONS' && methods.length) {
          if (res.status !== 204 || !res.headers.allow?.includes(methods[0]))
            problems.push(`${label} (expected 204 with Allow)`);
        } else if (!methods.length) {
          // CONNECT names no path Koa could route: it is refused as a method before any path is looked at.
          const expected = method === 'CONNECT' ? 405 : 404;
          if (method !== 'HEAD' && (res.status !== expected || !shaped(res)))
            problems.push(`${label} (expected ${expected} in the error shape)`);
        } else if (
          res.status !== 405 ||
          (method !== 'HEAD' && (!shaped(res) || res.body.error.code !== 'method_not_allowed'))
        ) {
          // A HEAD answer has no body (a POST-only path, such as a form's, answers HEAD with a bare 405).
          problems.push(`${label} (expected 405 method_not_allowed)`);
        } else if (!methods.every((m) => res.headers.allow?.split(', ').includes(m))) {
          problems.push(`${label} (Allow: ${res.headers.allow} lacks one of ${methods.join(', ')})`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBe((paths.length + 1) * http.METHODS.length);
  }, 120_000);

  it('answers TRACE, PROPFIND and CONNECT on /healthz with 405 and the routes it serves', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'CONNECT']) {
      const res = await rawRequest(api.url, { method, path: '/healthz' });
      expect({ method, status: res.status, code: res.body?.error?.code }).toEqual({
        method,
        status: 405,
        code: 'method_not_allowed',
      });
      expect(res.headers.allow).toMatch(/GET/);
    }
  });

  it('answers a CORS preflight from an allowed origin, and OPTIONS without one with Allow', async () => {
    const preflight = await rawRequest(api.url, {
      method: 'OPTIONS',
      path: '/api/social-media-cache',
      headers: {
        Origin: 'https://dashboard.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://dashboard.example');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const plain = await rawRequest(api.url, { method: 'OPTIONS', path: '/api/clients' });
    expect(plain.status).toBe(204);
    expect(plain.headers.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    const stranger = await rawRequest(api.url, {
      method: 'OPTIONS',
      path: '/api/clients',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers headers larger than Node accepts with 431 in the error shape', async () => {
    const res = await rawRequest(api.url, {
      method: 'GET',
      path: '/healthz',
      headers: { 'X-Padding': 'x'.repeat(20_000) },
    });
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ success: false, error: { code: 'headers_too_large', message: expect.any(String) } });
  });

  it('takes Basic credentials only on the HTML status page, never on a JSON route', async () => {
    const basic = (key: string) => ({ Authorization: `Basic ${Buffer.from(`operator:${key}`).toString('base64')}` });
    const json = await rawRequest(api.url, { method: 'GET', path: '/api/clients', headers: basic(ADMIN_KEY) });
    expect(json.status).toBe(401);
    expect(json.body.error).toEqual({ code: 'unauthorized', message: 'send the key as `Authorization: Bearer <key>`' });
    const read = await rawRequest(api.url, {
      method: 'GET',
      path: '/api/automated/refresh-social-media-cache',
      headers: basic(READ_KEY),
    });
    expect(read.status).toBe(401);
    const write = await rawRequest(api.url, {
      method: 'POST',
      path: '/api/automated/refresh-social-media-cache',
      headers: { ...basic(ADMIN_KEY), 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(401);
    const page = await rawRequest(api.url, { method: 'GET', path: '/status', headers: basic(ADMIN_KEY) });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('refuses a JSON route body that is not application/json with 415', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await rawRequest(api.url, {
        method: 'POST',
        path: '/api/clients',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': contentType },
        body: 'name=Acme',
      });
      expect({ contentType, status: res.status, code: res.body?.error?.code }).toEqual({
        contentType,
        status: 415,
        code: 'unsupported_media_type',
      });
    }
  });
});
