import { CORE_METRICS, METRIC_NAMES } from '../src/domain/vocabulary';
import { useStackAndApi } from './helpers/api';

describe('/openapi.json', () => {
  const harness = useStackAndApi();

  it('is a valid OpenAPI 3.1 document', async () => {
    const res = await harness.api.request('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists exactly the routes the router serves', async () => {
    const { body } = await harness.api.request('/openapi.json', { key: null });
    const documented = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const served = harness.api.app.router.stack
      .flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
      )
      .sort();
    expect(served.length).toBeGreaterThanOrEqual(14);
    expect(documented).toEqual(served);
  });

  it('documents which key each route needs, and the parameters it validates', async () => {
    const { body } = await harness.api.request('/openapi.json', { key: null });
    const read = body.paths['/api/social-media-cache'].get;
    expect(read['x-access']).toBe('read');
    expect(read.security).toEqual([{ bearer: [] }]);
    expect(read.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'clientId', in: 'query', required: true }),
        expect.objectContaining({ name: 'period', in: 'query', required: false }),
      ]),
    );
    expect(body.paths['/api/clients/{id}'].delete['x-access']).toBe('admin');
    expect(body.paths['/healthz'].get.security).toEqual([]);
    expect(body.paths['/api/clients'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['name', 'facebookPageId', 'accessToken']),
    );
  });

  it('declares the day and range answers from the metric catalogue: every metric, the seed four required', async () => {
    const { body } = await harness.api.request('/openapi.json', { key: null });
    const schemaOf = (path: string) =>
      body.paths[path].get.responses['200'].content['application/json'].schema as {
        properties: Record<string, { properties: Record<string, unknown>; required: string[]; items?: unknown }>;
      };
    const day = schemaOf('/api/social-media-cache').properties.data;
    const metrics = Object.keys(day.properties).filter((key) => /^(facebook|instagram)[A-Z]/.test(key));
    expect(metrics.sort()).toEqual([...METRIC_NAMES].sort());
    expect(day.required.filter((key) => metrics.includes(key)).sort()).toEqual([...CORE_METRICS].sort());
    const range = schemaOf('/api/social-media-cache/range');
    expect(Object.keys(range.properties)).toEqual(expect.arrayContaining(['data', 'totals', 'refresh']));
    const totals = range.properties.totals as unknown as { propertyNames: { enum: string[] } };
    expect([...totals.propertyNames.enum].sort()).toEqual([...METRIC_NAMES].sort());
  });
});
