/** Calendar days (`YYYY-MM-DD`) in a client's timezone. */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** True when `timezone` is an IANA zone this runtime knows (e.g. `Europe/Warsaw`). */
export function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The calendar day of `at` in `timezone`. */
export function dayIn(timezone: string, at: Date = new Date()): string {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timezone, formatter);
  }
  return formatter.format(at);
}

/** `day` moved by `delta` calendar days. */
export function addDays(day: string, delta: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + delta);
  return date.toISOString().slice(0, 10);
}

/** Today and the `count - 1` days before it in `timezone`, oldest first. */
export function lastDays(timezone: string, count: number, at: Date = new Date()): string[] {
  const today = dayIn(timezone, at);
  return Array.from({ length: count }, (_, i) => addDays(today, i - count + 1));
}

/** True for a real calendar day written `YYYY-MM-DD`. */
export function isValidDay(day: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
}
