import { describe, expect, it } from 'vitest';
import type { DesiredSuppression, DesiredSuppressions } from '../../src/desired/types.js';
import type { Suppression } from '../../src/fyno/types.js';
import { fingerprintSuppressions, planSuppressions, splitMarker } from '../../src/plan/suppressions.js';

const at = { file: 'list.yaml', line: 3, column: 7 };
const entry = (e: Partial<DesiredSuppression> & Pick<DesiredSuppression, 'channel' | 'key' | 'value'>): DesiredSuppression => ({ state: 'present', at, ...e });
const desired = (manage: DesiredSuppressions['manage'], entries: DesiredSuppression[]): DesiredSuppressions => ({ manage, at, entries });

const LIVE: Suppression[] = [
  { _id: 'r1', channel: 'sms', destination: '91 98123 45678', description: 'DND' },
  { _id: 'r2', channel: 'email', distinct_id: 'cust-1', description: 'hold [fyno-sync]' },
  { _id: 'r3', channel: 'email', destination: 'x@Example.com', description: 'dashboard' },
  { _id: 'r4', channel: 'email', destination: 'y@example.com' },
];

describe('planSuppressions', () => {
  it('plans nothing for entries that are live, compared as their channel requires', () => {
    const d = desired('merge', [
      entry({ channel: 'sms', key: 'destination', value: '+919812345678', description: 'DND' }),
      entry({ channel: 'email', key: 'destination', value: 'x@example.com' }),
      entry({ channel: 'email', key: 'distinct_id', value: 'cust-1', description: 'hold' }),
    ]);
    expect(planSuppressions(d, LIVE)).toEqual([]);
  });

  it('adds a missing entry with the marker, and re-describes one whose description differs', () => {
    const d = desired('merge', [
      entry({ channel: 'whatsapp', key: 'destination', value: '+14155550123' }),
      entry({ channel: 'sms', key: 'destination', value: '+919812345678', description: 'legal hold' }),
    ]);
    expect(planSuppressions(d, LIVE)).toEqual([
      { type: 'suppression.add', entry: { channel: 'whatsapp', destination: '+14155550123', description: '[fyno-sync]' }, at, idempotent: false },
      {
        type: 'suppression.add',
        // The destination as Fyno holds it, so the add finds that record.
        entry: { channel: 'sms', destination: '91 98123 45678', description: 'legal hold [fyno-sync]' },
        before: { description: 'DND' },
        at,
        idempotent: false,
      },
    ]);
  });

  it('removes a state: absent entry by the _id read; merge leaves unlisted entries alone', () => {
    const d = desired('merge', [entry({ channel: 'email', key: 'destination', value: 'x@example.com', state: 'absent' })]);
    expect(planSuppressions(d, LIVE)).toEqual([
      { type: 'suppression.remove', _id: 'r3', entry: { channel: 'email', destination: 'x@Example.com', description: 'dashboard' }, at, idempotent: false },
    ]);
  });

  it('exact removes only unlisted entries fyno-sync added; exact-all removes every unlisted one', () => {
    const listed = [entry({ channel: 'sms', key: 'destination', value: '+919812345678' })];
    expect(planSuppressions(desired('exact', listed), LIVE).map((o) => o.type === 'suppression.remove' && o._id)).toEqual(['r2']);
    expect(planSuppressions(desired('exact-all', listed), LIVE).map((o) => o.type === 'suppression.remove' && o._id)).toEqual(['r2', 'r3', 'r4']);
  });

  it('never modifies its arguments', () => {
    const live = structuredClone(LIVE);
    const d = desired('exact-all', [entry({ channel: 'push', key: 'distinct_id', value: 'u' })]);
    const copy = structuredClone(d);
    planSuppressions(d, live);
    expect(live).toEqual(LIVE);
    expect(d).toEqual(copy);
  });
});

describe('fingerprintSuppressions', () => {
  it('does not depend on the order of the list, and changes with any record', () => {
    expect(fingerprintSuppressions([...LIVE].reverse())).toBe(fingerprintSuppressions(LIVE));
    expect(fingerprintSuppressions([...LIVE, { _id: 'r5', channel: 'sms', destination: '+14155550100' }])).not.toBe(fingerprintSuppressions(LIVE));
    expect(fingerprintSuppressions(LIVE.map((s) => (s._id === 'r1' ? { ...s, description: 'other' } : s)))).not.toBe(fingerprintSuppressions(LIVE));
  });
});

describe('splitMarker', () => {
  it('takes the marker off and says the entry is owned', () => {
    expect(splitMarker('hold [fyno-sync]')).toEqual({ description: 'hold', owned: true });
    expect(splitMarker('[fyno-sync]')).toEqual({ owned: true });
    expect(splitMarker('DND')).toEqual({ description: 'DND', owned: false });
    expect(splitMarker(undefined)).toEqual({ owned: false });
  });
});
