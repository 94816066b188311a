import {
  DEFAULT_MAX_LANES,
  formatSpan,
  lanesAtUsage,
  lanesFor,
  overrunText,
  startsTakeMs,
} from '../../src/domain/lanes';
import { pacing } from '../../workflows/refresh-all';

const HOUR = 3_600_000;

describe('lanes', () => {
  it('takes one lane while the serial starts fit in 80 % of the interval', () => {
    // 5,400 clients at 2 s is 3 h of starts: too many for one lane; 4,320 is exactly 80 % of 3 h.
    expect(lanesFor({ clients: 4_321, spacingMs: 2_000, intervalMs: 3 * HOUR, setting: 'auto', maxLanes: 32 })).toEqual(
      {
        lanes: 1,
        needsMs: 4_320 * 2_000,
        fits: true,
      },
    );
    expect(
      lanesFor({ clients: 4_322, spacingMs: 2_000, intervalMs: 3 * HOUR, setting: 'auto', maxLanes: 32 }).lanes,
    ).toBe(2);
  });

  it('takes the fewest lanes that fit the fleet, at most REFRESH_MAX_LANES', () => {
    // The capacity case: 10,000 clients at 270 ms is 45 min serially, three 15-minute intervals.
    const plan = lanesFor({ clients: 10_000, spacingMs: 270, intervalMs: 15 * 60_000, setting: 'auto', maxLanes: 32 });
    expect(plan.lanes).toBe(4);
    expect(plan.fits).toBe(true);
    expect(plan.needsMs).toBeLessThanOrEqual(0.8 * 15 * 60_000);
    expect(startsTakeMs(10_000, 270, 3)).toBeGreaterThan(0.8 * 15 * 60_000);

    // 100,000 clients at the default 2 s in 3 h: 24 lanes.
    expect(
      lanesFor({ clients: 100_000, spacingMs: 2_000, intervalMs: 3 * HOUR, setting: 'auto', maxLanes: 32 }),
    ).toMatchObject({
      lanes: 24,
      fits: true,
    });
    // 200,000 do not fit on the default maximum: the plan says how long they take.
    const over = lanesFor({
      clients: 200_000,
      spacingMs: 2_000,
      intervalMs: 3 * HOUR,
      setting: 'auto',
      maxLanes: DEFAULT_MAX_LANES,
    });
    expect(over).toEqual({ lanes: 32, needsMs: (Math.ceil(200_000 / 32) - 1) * 2_000, fits: false });
  });

  it('keeps a fixed REFRESH_LANES as given, and says whether it fits', () => {
    expect(lanesFor({ clients: 10, spacingMs: 1_000, intervalMs: 60_000, setting: 3, maxLanes: 2 })).toEqual({
      lanes: 3,
      needsMs: 3_000,
      fits: true,
    });
    expect(lanesFor({ clients: 1_000, spacingMs: 1_000, intervalMs: 60_000, setting: 1, maxLanes: 32 }).fits).toBe(
      false,
    );
  });

  it('needs no lanes without a spacing', () => {
    expect(lanesFor({ clients: 1_000_000, spacingMs: 0, intervalMs: 60_000, setting: 'auto', maxLanes: 32 })).toEqual({
      lanes: 1,
      needsMs: 0,
      fits: true,
    });
  });

  it('removes lanes above 75 % app usage before the spacing stretches, and stretches on the last lane', () => {
    expect(lanesAtUsage(8, undefined)).toEqual({ lanes: 8, stretch: false });
    expect(lanesAtUsage(8, 75)).toEqual({ lanes: 8, stretch: false });
    expect(lanesAtUsage(8, 80)).toEqual({ lanes: 6, stretch: false });
    expect(lanesAtUsage(8, 95)).toEqual({ lanes: 1, stretch: false });
    expect(lanesAtUsage(8, 99)).toEqual({ lanes: 1, stretch: true });
    expect(lanesAtUsage(1, 80)).toEqual({ lanes: 1, stretch: true });
    // One lane at ordinary usage: the pacing it always had.
    expect(lanesAtUsage(1, 40)).toEqual({ lanes: 1, stretch: true });
  });

  it('starts one client per lane per spacing', () => {
    expect(pacing(2_000, 4)).toEqual({ perTimer: 4, timerMs: 2_000 });
    // Below the timer resolution, groups keep each lane's average spacing.
    expect(pacing(270, 4)).toEqual({ perTimer: 16, timerMs: 1_080 });
    expect(pacing(270)).toEqual({ perTimer: 4, timerMs: 1_080 });
  });

  it('says how long a cycle needs in words people read', () => {
    expect(formatSpan(40_000)).toBe('40 s');
    expect(formatSpan(25 * 60_000)).toBe('25 min');
    expect(formatSpan(3 * HOUR)).toBe('3 h');
    expect(formatSpan(4 * HOUR + 10 * 60_000)).toBe('4 h 10 min');
    expect(overrunText(4 * HOUR + 10 * 60_000, 3 * HOUR)).toBe(
      'this cycle needs 4 h 10 min of a 3 h interval even on REFRESH_MAX_LANES lanes',
    );
  });
});
