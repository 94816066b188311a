import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../src/config';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(fs.readFileSync(path.join(__dirname, '..', 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const { api, worker } = compose.services;
const defaults = loadConfig({});

/** `${NAME:-default}` → default; `${NAME:?…}` → a value that must come from the operator. */
function composeDefault(value: string): string | undefined {
  const match = /^\$\{(\w+):-(.*)\}$/.exec(value);
  return match ? match[2] : undefined;
}

describe('docker-compose.yml', () => {
  it('gives the api and the worker every variable they need', () => {
    const shared = ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TOKEN_ENCRYPTION_KEY', 'LOG_LEVEL'];
    const apiNeeds = [...shared, 'HOST', 'PORT', 'READ_API_KEYS', 'ADMIN_API_KEYS', 'CACHE_TTL', 'REFRESH_COOLDOWN', 'REFRESH_LOOKBACK_DAYS', 'CORS_ORIGINS', 'TEMPORAL_UI_URL'];
    const workerNeeds = [...shared, 'META_MODE', 'META_GRAPH_URL', 'META_GRAPH_VERSION', 'META_TIMEOUT', 'REFRESH_INTERVAL', 'REFRESH_SPACING', 'REFRESH_LOOKBACK_DAYS', 'WORKER_METRICS_PORT'];
    expect(Object.keys(api.environment!)).toEqual(expect.arrayContaining(apiNeeds));
    expect(Object.keys(worker.environment!)).toEqual(expect.arrayContaining(workerNeeds));
    // Secrets must be given by the operator: compose refuses to start without them.
    for (const secret of ['READ_API_KEYS', 'ADMIN_API_KEYS', 'TOKEN_ENCRYPTION_KEY']) {
      expect(api.environment![secret]).toMatch(new RegExp(`^\\$\\{${secret}:\\?`));
    }
  });

  it('names only variables the code reads, with the code’s own defaults', () => {
    for (const service of [api, worker]) {
      for (const [name, value] of Object.entries(service.environment!)) {
        if (name === 'NODE_OPTIONS') continue; // Node's own
        expect(ENV_VARIABLES).toContain(name);
        const fallback = composeDefault(value);
        if (fallback === undefined || fallback === '') continue;
        // The default compose writes must mean what the code's default means.
        const withDefault = loadConfig({ [name]: fallback });
        const field = JSON.stringify(withDefault);
        if (['META_MODE', 'META_GRAPH_URL', 'TEMPORAL_UI_URL'].includes(name)) continue; // production-only choices
        expect({ name, config: field }).toEqual({ name, config: JSON.stringify(defaults) });
      }
    }
  });

  it('publishes the ports the config defaults to', () => {
    expect(api.environment!.PORT).toBe(String(defaults.port));
    expect(api.ports).toEqual([`${defaults.port}:${defaults.port}`]);
    expect(compose.services.temporal.ports).toEqual([`${defaults.temporal.port}:7233`]);
    expect(compose.services['temporal-ui'].ports).toEqual([`${defaults.temporal.uiPort}:8080`]);
    expect(api.environment!.TEMPORAL_UI_URL).toBe(`\${TEMPORAL_UI_URL:-http://localhost:${defaults.temporal.uiPort}}`);
    expect(worker.healthcheck!.test.join(' ')).toContain(`:${worker.environment!.WORKER_METRICS_PORT}/metrics`);
    expect(api.healthcheck!.test.join(' ')).toContain(`:${api.environment!.PORT}/readyz`);
  });

  it('gives every service a healthcheck and starts each only once what it needs is healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect({ name, healthcheck: Array.isArray(service.healthcheck?.test) }).toEqual({ name, healthcheck: true });
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency]).toBeDefined();
        expect(condition).toBe('service_healthy');
      }
    }
    expect(api.command).toEqual(['node', 'dist/src/api.js']);
    expect(worker.command).toEqual(['node', 'dist/src/worker.js']);
    expect(fs.existsSync(path.join(__dirname, '..', 'src', 'api.ts'))).toBe(true);
    expect(compose.services['temporal'].image).not.toMatch(/auto-setup/);
  });
});
