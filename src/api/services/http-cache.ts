import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { DayRead } from '../cache-reader';

/** True when the request's If-None-Match names this ETag (or `*`). */
export function matchesEtag(ctx: Context, etag: string): boolean {
  const ifNoneMatch = ctx.get('if-none-match');
  return !!ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
}

/**
 * One weak ETag for several days: a hash over every day's tag, so a change to any day, the
 * last of 92 included, changes it.
 */
export function combinedEtag(reads: DayRead[]): string {
  if (reads.length === 1) return reads[0].etag;
  const hash = createHash('sha1');
  for (const read of reads) hash.update(read.etag);
  return `W/"${hash.digest('base64url')}"`;
}

/**
 * Sets Cache-Control (fresh for as long as the stalest day), Age (the oldest day) and a weak
 * ETag; returns the headers and whether If-None-Match matched.
 */
export function setCacheHeaders(ctx: Context, reads: DayRead[], ttlMs: number): { headers: Record<string, string>; notModified: boolean } {
  const freshFor = Math.min(...reads.map((r) => r.freshForSeconds));
  const ages = reads.map((r) => r.ageSeconds).filter((a): a is number => a !== null);
  const etag = combinedEtag(reads);
  const headers: Record<string, string> = {
    'Cache-Control': `private, max-age=${freshFor}, stale-while-revalidate=${Math.floor(ttlMs / 1000)}`,
    Vary: 'Authorization',
    ETag: etag,
    ...(ages.length ? { Age: String(Math.max(...ages)) } : {}),
  };
  ctx.set(headers);
  return { headers, notModified: matchesEtag(ctx, etag) };
}

/** A serialized answer with its headers, Content-Type included. */
export interface FreshAnswer {
  body: Buffer;
  headers: Record<string, string>;
  expiresAt: number;
}

/**
 * Fresh single-day answers, serialized, for at most one second: a dashboard's burst of reads
 * costs one lookup. A write or an edit through this process drops the client's entries. A plain
 * map with an expiry per entry (emptied when it reaches `max`) is all a one-second cache needs.
 */
export class FreshAnswers {
  private readonly answers = new Map<string, FreshAnswer>();

  constructor(
    private readonly ttlMs = 1_000,
    private readonly max = 20_000,
  ) {}

  key(clientId: string, period: string | undefined): string {
    return `${clientId}|${period ?? ''}`;
  }

  get(key: string): FreshAnswer | undefined {
    const answer = this.answers.get(key);
    if (!answer) return undefined;
    if (answer.expiresAt > Date.now()) return answer;
    this.answers.delete(key);
    return undefined;
  }

  set(key: string, body: unknown, headers: Record<string, string>): void {
    if (this.answers.size >= this.max) this.answers.clear();
    this.answers.set(key, {
      body: Buffer.from(JSON.stringify(body)),
      headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
      expiresAt: Date.now() + this.ttlMs,
    });
  }

  invalidate(clientId: string): void {
    for (const key of this.answers.keys()) if (key.startsWith(`${clientId}|`)) this.answers.delete(key);
  }
}
