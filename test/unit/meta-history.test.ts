import { addDays } from '../../src/dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../../src/domain/meta-history';

const TODAY = '2026-06-15';

describe("Meta's history limits", () => {
  it('keeps two years of Page insights and 90 days of Instagram', () => {
    expect(beyondMetaHistory('facebook', addDays(TODAY, -730), TODAY)).toBe(false);
    expect(beyondMetaHistory('facebook', addDays(TODAY, -731), TODAY)).toBe(true);
    expect(beyondMetaHistory('instagram', addDays(TODAY, -90), TODAY)).toBe(false);
    expect(beyondMetaHistory('instagram', addDays(TODAY, -91), TODAY)).toBe(true);
  });

  it('names the oldest day still kept as the edge, where an empty answer means gone', () => {
    expect(atMetaHistoryEdge('instagram', addDays(TODAY, -89), TODAY)).toBe(false);
    expect(atMetaHistoryEdge('instagram', addDays(TODAY, -90), TODAY)).toBe(true);
    expect(atMetaHistoryEdge('facebook', addDays(TODAY, -730), TODAY)).toBe(true);
  });
});
