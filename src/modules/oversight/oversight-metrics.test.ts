import { describe, expect, it } from 'vitest';
import { computeOversightMetrics, median, type ResolutionFact } from './oversight-metrics.js';

const at = (s: number) => new Date(Date.parse('2026-11-25T10:00:00.000Z') + s * 1000).toISOString();
const r = (by: string, resolution: ResolutionFact['resolution'], opened: number, resolved: number, acked: number | null = null): ResolutionFact => ({
  resolvedBy: by,
  resolution,
  createdAt: at(opened),
  acknowledgedAt: acked === null ? null : at(acked),
  resolvedAt: at(resolved),
});

describe('oversight metrics', () => {
  it('median', () => {
    expect(median([])).toBeNull();
    expect(median([3])).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('override rate, time to resolution, rubber stamps per reviewer', () => {
    const m = computeOversightMetrics({
      decisions: 200,
      overrides: [{ authorizedBy: 'usr_b' }, { authorizedBy: 'usr_b' }, { authorizedBy: 'usr_c' }],
      resolutions: [
        r('usr_a', 'approved', 0, 2), // 2 s after opening: a rubber stamp
        r('usr_a', 'approved', 0, 600, 598), // 2 s after acknowledging: a rubber stamp
        r('usr_a', 'approved', 0, 300), // read for 5 min
        r('usr_a', 'denied', 0, 1), // fast denials are not rubber stamps
        r('usr_b', 'approved', 0, 5), // exactly the threshold: not below it
        r('usr_b', 'deferred', 0, 3600),
      ],
      escalationsOpened: 9,
      slaBreaches: 2,
      rubberStampS: 5,
    });
    expect(m).toMatchObject({
      decisions: 200,
      overrides: 3,
      override_rate: 0.015,
      escalations_opened: 9,
      escalations_resolved: 6,
      median_time_to_resolution_s: 152.5,
      sla_breaches: 2,
      rubber_stamp_threshold_s: 5,
      rubber_stamp_approvals: 2,
      rubber_stamp_rate: 0.5,
    });
    expect(m.reviewers).toEqual([
      { user_id: 'usr_a', resolutions: 4, approvals: 3, rubber_stamp_approvals: 2, rubber_stamp_rate: 0.6667, median_time_to_resolution_s: 151, overrides: 0 },
      { user_id: 'usr_b', resolutions: 2, approvals: 1, rubber_stamp_approvals: 0, rubber_stamp_rate: 0, median_time_to_resolution_s: 1802.5, overrides: 2 },
      { user_id: 'usr_c', resolutions: 0, approvals: 0, rubber_stamp_approvals: 0, rubber_stamp_rate: 0, median_time_to_resolution_s: null, overrides: 1 },
    ]);
  });

  it('no activity: zero rates, no medians', () => {
    expect(
      computeOversightMetrics({ decisions: 0, overrides: [], resolutions: [], escalationsOpened: 0, slaBreaches: 0, rubberStampS: 5 }),
    ).toMatchObject({ override_rate: 0, rubber_stamp_rate: 0, median_time_to_resolution_s: null, reviewers: [] });
  });
});
