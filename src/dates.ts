/**
 * Calendar days (`YYYY-MM-DD`) and a timezone's midnights, computed with Intl only: the
 * client's days are calendar days in its IANA timezone, Meta's Page days are US-Pacific days.
 */

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** True for a real calendar day written `YYYY-MM-DD`. */
export function isCalendarDay(day: string): boolean {
  const match = DAY_PATTERN.exec(day);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const date = Number(match[3]);
  if (month < 1 || month > 12 || date < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return date <= (month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);
}

/** The day `n` days after `day` (before, when `n` is negative). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return utcDay(Date.UTC(y, m - 1, d + n));
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((dayStartUtc(to) - dayStartUtc(from)) / DAY_MS);
}

function dayStartUtc(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const FORMAT_OPTIONS: Intl.DateTimeFormatOptions = {
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
};

/**
 * Formatters by zone name, a few KB of ICU memory each. Kept only for the names the code reads
 * days in (clients' stored, canonical zones; a few hundred exist), and capped all the same, since
 * Intl takes a zone in any case and alias (`us/pacific`, `US/PACIFIC`, …): a cache grown by
 * every spelling a caller sends would have no bound.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 1_000;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { ...FORMAT_OPTIONS, timeZone });
    if (formatters.size >= MAX_FORMATTERS) formatters.clear();
    formatters.set(timeZone, format);
  }
  return format;
}

/**
 * The canonical name of a timezone Intl knows (`us/pacific` → `America/Los_Angeles`), as
 * `resolvedOptions().timeZone` gives it; undefined for one it does not know. Keeps nothing.
 */
export function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** True when Intl knows the IANA timezone, in any spelling. */
export function isTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== undefined;
}

/** The wall-clock time at `ms` in `timeZone`, read as if it were UTC. */
function wallClockAsUtc(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

function localDay(ms: number, timeZone: string): string {
  return utcDay(wallClockAsUtc(ms, timeZone));
}

/**
 * The first instant of `day` in `timeZone`, in epoch milliseconds. Where a DST change skips
 * midnight (e.g. America/Santiago), the day starts at the first wall-clock time after the gap.
 */
export function startOfDay(day: string, timeZone: string): number {
  const guess = dayStartUtc(day);
  const first = guess - (wallClockAsUtc(guess, timeZone) - guess);
  const second = guess - (wallClockAsUtc(first, timeZone) - first);
  const onTheDay = [first, second].filter((ms) => localDay(ms, timeZone) === day);
  return onTheDay.length > 0 ? Math.min(...onTheDay) : second;
}

/** `day` in `timeZone` as unix seconds `[since, until)`, the bounds Instagram insights take. */
export function dayBoundsUnix(day: string, timeZone: string): { since: number; until: number } {
  return {
    since: Math.floor(startOfDay(day, timeZone) / 1000),
    until: Math.floor(startOfDay(addDays(day, 1), timeZone) / 1000),
  };
}

const END_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * The day a Page insights value belongs to. Meta stamps a day's value with the end of that
 * day, midnight US-Pacific (`2026-01-02T08:00:00+0000` for 2026-01-01), so the day is the UTC
 * date of `end_time` minus one. Undefined for a timestamp it cannot read.
 */
export function dayOfEndTime(endTime: string): string | undefined {
  const match = END_TIME_PATTERN.exec(endTime);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, zone] = match;
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const digits = zone.replace(':', '');
    offsetMinutes = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  if (Number.isNaN(ms)) return undefined;
  return addDays(utcDay(ms), -1);
}

/** The calendar day of `at` in `timeZone`. */
export function dayIn(timeZone: string, at: Date = new Date()): string {
  return localDay(at.getTime(), timeZone);
}

/** Today and the `count - 1` days before it in `timeZone`, oldest first. */
export function lastDays(timeZone: string, count: number, at: Date = new Date()): string[] {
  const today = dayIn(timeZone, at);
  return Array.from({ length: count }, (_, i) => addDays(today, i - count + 1));
}
