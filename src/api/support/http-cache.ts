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

/** Cache-Control (fresh for as long as the stalest day), Age (the oldest day) and a weak ETag. */
export function cacheHeaders(reads: DayRead[], ttlMs: number): Record<string, string> {
  const freshFor = Math.min(...reads.map((r) => r.freshForSeconds));
  const ages = reads.map((r) => r.ageSeconds).filter((a): a is number => a !== null);
  return {
    'Cache-Control': `private, max-age=${freshFor}, stale-while-revalidate=${Math.floor(ttlMs / 1000)}`,
    Vary: 'Authorization',
    ETag: combinedEtag(reads),
    ...(ages.length ? { Age: String(Math.max(...ages)) } : {}),
  };
}

/** Sets the reads' cache headers; returns them and whether If-None-Match matched. */
export function setCacheHeaders(
  ctx: Context,
  reads: DayRead[],
  ttlMs: number,
  /** One of several representations the route answers by the Accept header: each has its own ETag. */
  variant?: string,
): { headers: Record<string, string>; notModified: boolean } {
  const headers = cacheHeaders(reads, ttlMs);
  if (variant) {
    headers.ETag = headers.ETag.replace(/"$/, `-${variant}"`);
    headers.Vary = `${headers.Vary}, Accept`;
  }
  ctx.set(headers);
  return { headers, notModified: matchesEtag(ctx, headers.ETag) };
}

/** A serialized answer with its headers, Content-Type included. */
export interface FreshAnswer {
  body: Buffer;
  headers: Record<string, string>;
  expiresAt: number;
  /** From then on, the first read that finds the answer has it read again from Postgres. */
  renewAt: number;
  renewing: boolean;
}

/**
 * Fresh single-day answers, serialized, for at most one second: a dashboard's burst of reads
 * costs one lookup. A write or an edit through this process drops the client's entries. A plain
 * map with an expiry per entry (emptied when it reaches `max`) is all a one-second cache needs.
 *
 * An answer read often is renewed before it expires: the first read in its last quarter second
 * has it read again in the background while every read goes on being answered from memory. So
 * a steady stream of reads never meets an expired answer, and fifty readers do not all go to
 * Postgres together each second; an answer nobody reads simply expires.
 */
export class FreshAnswers {
  private readonly answers = new Map<string, FreshAnswer>();
  /** Bumped by every invalidation: a renewal that began before one is not stored. */
  private generation = 0;

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
    const now = Date.now();
    this.answers.set(key, {
      body: Buffer.from(JSON.stringify(body)),
      headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
      expiresAt: now + this.ttlMs,
      renewAt: now + this.ttlMs * 0.75,
      renewing: false,
    });
  }

  /**
   * Renews `answer` in the background when it is due and nobody renews it yet: `read` answers
   * the new body and headers, or undefined when the answer may no longer be served from memory
   * (then it is dropped, and the next read takes the full path). A failure drops it too.
   */
  renewIfDue(
    key: string,
    answer: FreshAnswer,
    read: () => Promise<{ body: unknown; headers: Record<string, string> } | undefined>,
  ): void {
    if (answer.renewing || Date.now() < answer.renewAt) return;
    answer.renewing = true;
    const generation = this.generation;
    read().then(
      (renewed) => {
        if (this.answers.get(key) !== answer) return;
        if (renewed && generation === this.generation) this.set(key, renewed.body, renewed.headers);
        else this.answers.delete(key);
      },
      () => {
        if (this.answers.get(key) === answer) this.answers.delete(key);
      },
    );
  }

  invalidate(clientId: string): void {
    this.generation++;
    for (const key of this.answers.keys()) if (key.startsWith(`${clientId}|`)) this.answers.delete(key);
  }
}
