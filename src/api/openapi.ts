import { z, ZodType } from 'zod';
import type { RouteDef } from './routes';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['success', 'error'],
  properties: {
    success: { const: false },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

function jsonSchema(schema: ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parameters(schema: ZodType | undefined, where: 'query' | 'path') {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** The OpenAPI 3.1 document of exactly the routes the API serves, built from their definitions. */
export function buildOpenApi(routes: RouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const bodies = route.body ? [route.body] : (route.bodyOneOf ?? []);
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(route.responses)) {
      responses[status] =
        Number(status) >= 400 && !route.htmlStatuses?.includes(Number(status))
          ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
          : route.html
            ? { description, content: { 'text/html': { schema: { type: 'string' } } } }
            : route.responseBodies?.[Number(status)]
              ? {
                  description,
                  content: {
                    'application/json': { schema: jsonSchema(route.responseBodies[Number(status)], 'output') },
                  },
                }
              : { description };
    }
    if (route.access !== 'public') {
      responses['401'] = {
        description: 'missing or unknown API key',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
      if (route.access === 'admin')
        responses['403'] = {
          description: 'a read key on an admin route',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
    }
    if (route.query || route.params || bodies.length) {
      responses['400'] ??= {
        description: 'invalid request',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      operationId: `${route.method}${path.replace(/[^a-zA-Z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(route.access === 'public'
        ? { security: [] }
        : { security: route.html ? [{ bearer: [] }, { basic: [] }] : [{ bearer: [] }] }),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(bodies.length
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema:
                    bodies.length === 1 ? jsonSchema(bodies[0]) : { oneOf: bodies.map((body) => jsonSchema(body)) },
                },
              },
            },
          }
        : {}),
      responses,
      'x-access': route.access,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'social-media-cache',
      version,
      description:
        'A per-client, per-day cache of Meta numbers in front of the Graph API. Read keys read; admin keys do everything. ' +
        'A route that reads Postgres answers `503` `database_busy` with `Retry-After` when no pooled connection came free in time.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a key from READ_API_KEYS or ADMIN_API_KEYS' },
        basic: {
          type: 'http',
          scheme: 'basic',
          description: 'for browsers: any user name, an API key as the password',
        },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
