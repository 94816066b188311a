/**
 * Meta's `debug_token`: when a client's token expires, when the app's data access ends, and the
 * permissions granted, asked with the app token (`GET /debug_token?input_token=…&access_token=id|secret`).
 * Meta answers `{ data: { is_valid, expires_at, data_access_expires_at, scopes, error?, … } }`,
 * times in epoch seconds, `expires_at: 0` for a token that never expires (a Page token derived
 * from a long-lived user token).
 */

import { z } from 'zod';
import { SANDBOX_UNKNOWN_TOKEN_FIELD } from './classify';
import { MetaSandboxUnknownTokenError } from './errors';
import { GraphCalls, parse } from './graph';
import type { TokenDebugInfo } from './types';

const seconds = z.number().int().min(0);

const debugTokenSchema = z.object({
  data: z.object({
    is_valid: z.boolean(),
    expires_at: seconds.optional(),
    data_access_expires_at: seconds.optional(),
    scopes: z.array(z.string()).optional(),
    error: z
      .object({
        code: z.number().int().optional(),
        subcode: z.number().int().optional(),
        message: z.string().optional(),
        [SANDBOX_UNKNOWN_TOKEN_FIELD]: z.literal(true).optional(),
      })
      .optional(),
  }),
});

const fromSeconds = (value: number | undefined): Date | null => (value ? new Date(value * 1000) : null);

/**
 * `graph` carries the app token; the client's token goes only as `input_token`, never into a log.
 * A client built for the sandbox reads the sandbox's marker for a token it never issued (a real
 * one, added while `npm start` runs in demo mode) as MetaSandboxUnknownTokenError: not judged.
 */
export async function debugToken(graph: GraphCalls, accessToken: string, sandbox = false): Promise<TokenDebugInfo> {
  const body = await graph.get('debug_token', {}, { input_token: accessToken });
  const { data } = parse(debugTokenSchema, body, 'GET debug_token');
  if (sandbox && data.error?.[SANDBOX_UNKNOWN_TOKEN_FIELD])
    throw new MetaSandboxUnknownTokenError('the Graph sandbox does not know this token (GET debug_token)', {
      code: 190,
    });
  return {
    isValid: data.is_valid,
    expiresAt: fromSeconds(data.expires_at),
    dataAccessExpiresAt: fromSeconds(data.data_access_expires_at),
    scopes: data.scopes ?? [],
    ...(data.error
      ? {
          error: {
            code: data.error.code,
            subcode: data.error.subcode,
            message: data.error.message && graph.redact(data.error.message),
          },
        }
      : {}),
  };
}
