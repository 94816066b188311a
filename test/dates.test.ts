import { addDays, dayBoundsUnix, dayOfEndTime, isCalendarDay } from '../src/dates';

const iso = (unix: number) => new Date(unix * 1000).toISOString();

describe('days in a client timezone and in Meta Page insights', () => {
  it("bounds a day by the client's midnights, for Instagram's since and until", () => {
    expect(dayBoundsUnix('2026-11-23', 'Europe/Warsaw')).toEqual({ since: 1795388400, until: 1795474800 });
    expect(iso(dayBoundsUnix('2026-11-23', 'Asia/Kolkata').since)).toBe('2026-11-22T18:30:00.000Z');
    expect(iso(dayBoundsUnix('2026-01-01', 'UTC').until)).toBe('2026-01-02T00:00:00.000Z');
  });

  it('gives a daylight-saving day its 23 or 25 hours', () => {
    const spring = dayBoundsUnix('2026-03-29', 'Europe/Warsaw');
    const autumn = dayBoundsUnix('2026-10-25', 'Europe/Warsaw');
    expect((spring.until - spring.since) / 3600).toBe(23);
    expect((autumn.until - autumn.since) / 3600).toBe(25);
  });

  it('starts a day whose midnight does not exist at the first time after the gap', () => {
    // America/Santiago moves from 00:00 to 01:00 on 2026-09-06.
    const { since, until } = dayBoundsUnix('2026-09-06', 'America/Santiago');
    expect(iso(since)).toBe('2026-09-06T04:00:00.000Z');
    expect(iso(until)).toBe('2026-09-07T03:00:00.000Z');
    // And back from 00:00 to 23:00 of the day before on 2026-04-05: that Sunday still has 24 hours.
    const back = dayBoundsUnix('2026-04-05', 'America/Santiago');
    expect(iso(back.since)).toBe('2026-04-05T04:00:00.000Z');
    expect((back.until - back.since) / 3600).toBe(24);
  });

  it("maps a Page value's end_time, the next US-Pacific midnight, back to its day", () => {
    expect(dayOfEndTime('2026-01-02T08:00:00+0000')).toBe('2026-01-01');
    expect(dayOfEndTime('2026-03-09T07:00:00+0000')).toBe('2026-03-08');
    expect(dayOfEndTime('2026-11-02T08:00:00+0000')).toBe('2026-11-01');
    expect(dayOfEndTime('2026-07-01T00:00:00-07:00')).toBe('2026-06-30');
    expect(dayOfEndTime('yesterday')).toBeUndefined();
  });

  it('knows real calendar days and counts across months and years', () => {
    expect(isCalendarDay('2026-02-28')).toBe(true);
    expect(isCalendarDay('2026-02-29')).toBe(false);
    expect(isCalendarDay('2026-2-1')).toBe(false);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});
