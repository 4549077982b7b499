import { describe, expect, it } from 'vitest';
import type { DesiredProfile } from '../../src/desired/types.js';
import type { ActualPreferences, ActualProfile } from '../../src/fyno/types.js';
import { planOperations } from '../../src/plan/diff.js';
import { sameDestination } from '../../src/plan/diff-channels.js';
import { profileIdOf, type Operation } from '../../src/plan/types.js';
import { actual, AT, desired, live, prefs, profile, topic } from './plan-builders.js';

const ID = 'cust-1';

/** Plans one desired profile against one live profile (null = does not exist). */
function plan(d: Partial<Omit<DesiredProfile, 'distinct_id'>>, l: ActualProfile | null, p?: ActualPreferences) {
  return planOperations(desired(profile(ID, d)), actual([ID, l, p]));
}
function ops(d: Partial<Omit<DesiredProfile, 'distinct_id'>>, l: ActualProfile | null, p?: ActualPreferences): Operation[] {
  const r = plan(d, l, p);
  expect(r.issues).toEqual([]);
  return r.operations;
}
/** An expected operation of `cust-1` at the default position. */
function op(o: Record<string, unknown>): Operation {
  return { distinct_id: ID, at: AT, ...o } as Operation;
}
const me = (f: Partial<Omit<ActualProfile, 'distinct_id'>> = {}) => live(ID, f);

describe('key presence', () => {
  it('never touches what the file omits, however different live state is', () => {
    const l = me({ name: 'Old', timezone: 'UTC', channels: { email: 'a@x.io', push: [{ token: 't1' }] }, properties: { plan: 'basic', tags: ['x'] } });
    expect(ops({}, l)).toEqual([]);
    expect(ops({ channels: {}, properties: {}, preferences: {} }, l, prefs([topic('S1', { sms: 'opted-out' })]))).toEqual([]);
  });

  it.each([
    ['a single channel', { channels: { email: null } }, me({ channels: { email: 'a@x.io' } }), [op({ type: 'channel.delete', channel: 'email', before: 'a@x.io', idempotent: true })]],
    ['a token channel', { channels: { push: null } }, me({ channels: { push: [{ token: 't1' }] } }), [op({ type: 'channel.delete', channel: 'push', sensitive: true, idempotent: true })]],
    ['a property', { properties: { old: { op: 'unset' } } }, me({ properties: { old: 3 } }), [op({ type: 'property.unset', key: 'old', before: 3, idempotent: true })]],
  ] as const)('removes %s on explicit null', (_what, d, l, expected) => {
    expect(ops(d as Partial<DesiredProfile>, l)).toEqual(expected);
  });

  it.each([
    ['a channel', { channels: { email: null, push: null } }],
    ['a property', { properties: { old: { op: 'unset' } } }],
  ] as const)('plans nothing for null when %s is already absent', (_what, d) => {
    expect(ops(d as Partial<DesiredProfile>, me())).toEqual([]);
  });
});

describe('scalar properties and $once', () => {
  it('sets a changed scalar with $set, showing the live value', () => {
    expect(ops({ properties: { plan: { op: 'set', value: 'premium' } } }, me({ properties: { plan: 'basic' } }))).toEqual([
      op({ type: 'property.set', key: 'plan', value: 'premium', before: 'basic', idempotent: true }),
    ]);
  });
  it('sets a new scalar without a before', () => {
    expect(ops({ properties: { ltv: { op: 'set', value: 23000 } } }, me())).toEqual([op({ type: 'property.set', key: 'ltv', value: 23000, idempotent: true })]);
  });
  it('plans nothing for an equal scalar', () => {
    expect(ops({ properties: { ltv: { op: 'set', value: 23000 }, vip: { op: 'set', value: true } } }, me({ properties: { ltv: 23000, vip: true } }))).toEqual([]);
  });
  it.each([
    ['a string for a number', '1', 1, 'property n holds a number in Fyno, which ignores a string value for it (a property keeps the type of its first value)'],
    ['a list for a string', ['a'], 'a', 'property n holds a string in Fyno, which ignores a list value for it (a property keeps the type of its first value)'],
    ['a number for a boolean', 0, false, 'property n holds a boolean in Fyno, which ignores a number value for it (a property keeps the type of its first value)'],
  ] as const)('reports %s as an issue: Fyno would ignore it', (_what, want, have, message) => {
    const r = plan({ properties: { n: { op: 'set', value: want as never } } }, me({ properties: { n: have as never } }));
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => i.message)).toEqual([message]);
  });
  it('lets a date replace a plain string: both are strings to Fyno', () => {
    expect(ops({ properties: { d: { op: 'set', value: '2024-01-01' } } }, me({ properties: { d: 'soon' } }))).toHaveLength(1);
  });
  it('plans $once only while the property is unset', () => {
    const d = { properties: { first_seen: { op: 'once', value: '2024-01-01' } } } as const;
    expect(ops(d, me())).toEqual([op({ type: 'property.set_once', key: 'first_seen', value: '2024-01-01', idempotent: true })]);
    expect(ops(d, me({ properties: { first_seen: '2023-05-05' } }))).toEqual([]);
  });
});

describe('exact lists with the fewest operations', () => {
  const tags = (want: string[], have?: string[]) => ops({ properties: { tags: { op: 'set', value: want } } }, me({ properties: have ? { tags: have } : {} }));
  it.each([
    ['one value added → $append', ['a', 'b', 'c'], ['a', 'b'], [op({ type: 'property.append', key: 'tags', value: 'c', idempotent: false })]],
    ['one value removed → $remove', ['a'], ['a', 'b'], [op({ type: 'property.remove', key: 'tags', value: 'b', idempotent: true })]],
    ['two changes → one $set', ['a', 'd'], ['a', 'b'], [op({ type: 'property.set', key: 'tags', value: ['a', 'd'], before: ['a', 'b'], idempotent: true })]],
    ['three added → one $set', ['a', 'b', 'c', 'd'], ['a'], [op({ type: 'property.set', key: 'tags', value: ['a', 'b', 'c', 'd'], before: ['a'], idempotent: true })]],
    ['no live value → $set', ['a'], undefined, [op({ type: 'property.set', key: 'tags', value: ['a'], idempotent: true })]],
    ['same values in another order → nothing', ['b', 'a'], ['a', 'b'], []],
    ['duplicates in the file → nothing', ['a', 'a', 'b'], ['a', 'b'], []],
    ['[] against an unset property → nothing', [], undefined, []],
    ['[] against one value → $remove', [], ['a'], [op({ type: 'property.remove', key: 'tags', value: 'a', idempotent: true })]],
  ] as const)('%s', (_name, want, have, expected) => {
    expect(tags([...want], have ? [...have] : undefined)).toEqual(expected);
  });
});

describe('push and inapp tokens', () => {
  const push = (want: { token: string; integration_id?: string }[] | null, have?: { token: string; integration_id?: string; status?: 0 | 1 }[]) =>
    ops({ channels: { push: want } }, me({ channels: have ? { push: have } : {} }));
  it('deletes the tokens the file dropped and inserts the new ones, delete first', () => {
    expect(push([{ token: 't2' }, { token: 't3' }], [{ token: 't1' }, { token: 't2' }])).toEqual([
      op({ type: 'channel.delete', channel: 'push', tokens: ['t1'], sensitive: true, idempotent: true }),
      op({ type: 'channel.set', channel: 'push', value: [{ token: 't3' }], sensitive: true, idempotent: false }),
    ]);
  });
  it('plans nothing for the same tokens in another order, status 1 being the default', () => {
    expect(push([{ token: 't2' }, { token: 't1', integration_id: 'I1' }], [{ token: 't1', integration_id: 'I1', status: 1 }, { token: 't2' }])).toEqual([]);
  });
  // Issue #13 item 5: a kept token is updated in place (PATCH …/channel upserts by token value,
  // src/fyno/emulator/README.md "Token insert"), never deleted and inserted again.
  it('updates a kept token whose integration changed in place, with no delete', () => {
    expect(push([{ token: 't1', integration_id: 'I2' }], [{ token: 't1', integration_id: 'I1' }])).toEqual([
      op({ type: 'channel.set', channel: 'push', value: [{ token: 't1', integration_id: 'I2', status: 1 }], in_place: true, sensitive: true, idempotent: true }),
    ]);
  });
  it('updates a kept token whose status changed in place, dropping an integration it no longer names', () => {
    expect(push([{ token: 't1' }], [{ token: 't1', integration_id: 'I1', status: 0 }])).toEqual([
      op({ type: 'channel.set', channel: 'push', value: [{ token: 't1', status: 1 }], in_place: true, sensitive: true, idempotent: true }),
    ]);
  });
  it('live [A, B], desired [B with an integration, C]: deletes A only, updates B in place, inserts C', () => {
    expect(push([{ token: 'B', integration_id: 'IPUSH' }, { token: 'C' }], [{ token: 'A' }, { token: 'B' }])).toEqual([
      op({ type: 'channel.delete', channel: 'push', tokens: ['A'], sensitive: true, idempotent: true }),
      op({ type: 'channel.set', channel: 'push', value: [{ token: 'B', integration_id: 'IPUSH', status: 1 }], in_place: true, sensitive: true, idempotent: true }),
      op({ type: 'channel.set', channel: 'push', value: [{ token: 'C' }], sensitive: true, idempotent: false }),
    ]);
  });
  it('cleans up a token stored twice', () => {
    expect(push([{ token: 't1' }], [{ token: 't1' }, { token: 't1' }])).toEqual([
      op({ type: 'channel.delete', channel: 'push', tokens: ['t1'], sensitive: true, idempotent: true }),
      op({ type: 'channel.set', channel: 'push', value: [{ token: 't1' }], sensitive: true, idempotent: false }),
    ]);
  });
  it('deletes every live token by value for an empty list', () => {
    expect(push([], [{ token: 't1' }, { token: 't2' }])).toEqual([op({ type: 'channel.delete', channel: 'push', tokens: ['t1', 't2'], sensitive: true, idempotent: true })]);
    expect(push([], [])).toEqual([]);
  });
});

describe('values equal after normalisation show no change', () => {
  it.each([
    ['a phone with spaces', { channels: { sms: '+919812345678' } }, me({ channels: { sms: '+91 98123 45678' } })],
    ['a phone without +', { channels: { whatsapp: '+919812345678' } }, me({ channels: { whatsapp: '919812345678' } })],
    ['an email domain in capitals', { channels: { email: 'Priya@example.com' } }, me({ channels: { email: 'Priya@EXAMPLE.com' } })],
    ['a date and its midnight UTC instant', { properties: { signup: { op: 'set', value: '2024-03-01' } } }, me({ properties: { signup: '2024-03-01T00:00:00.000Z' } })],
    ['a date in another offset', { properties: { at: { op: 'set', value: '2020-10-01T18:30:00Z' } } }, me({ properties: { at: '2020-10-02T00:00:00.000+05:30' } })],
    ['a list of dates in other forms and order', { properties: { d: { op: 'set', value: ['2024-01-02', '2024-01-01'] } } }, me({ properties: { d: ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00.000Z'] } })],
    [
      'server-managed fields',
      { name: 'Priya', status: 'active', timezone: 'Asia/Kolkata' },
      me({ name: 'Priya', timezone: 'Asia/Kolkata', server: { created_at: '2024-01-01', profile_id: 'p1', country_code: 'IN', timezone_offset: '+05:30', updated_at: 'x' } }),
    ],
  ] as const)('%s', (_what, d, l) => {
    expect(ops(d as Partial<DesiredProfile>, l)).toEqual([]);
  });
  it('but a different phone number is a change', () => {
    expect(ops({ channels: { sms: '+919812345679' } }, me({ channels: { sms: '+91 98123 45678' } }))).toEqual([
      op({ type: 'channel.set', channel: 'sms', value: '+919812345679', before: '+91 98123 45678', idempotent: true }),
    ]);
  });
});

describe('sameDestination', () => {
  it.each([
    ['sms', '+14155552671', '+1 (415) 555-2671', true],
    ['sms', '+919812345678', '91-98123-45678', true],
    ['voice', '+919812345678', '+919812345679', false],
    ['sms', '+919812345678', '+91 98123 4567', false],
    ['email', 'a@x.io', 'a@X.IO', true],
    ['email', 'a@x.io', 'A@x.io', false],
    ['slack', 'C01', ' C01 ', true],
  ] as const)('%s %s vs live %s → %s', (channel, want, have, same) => {
    expect(sameDestination(channel, want, have)).toBe(same);
  });
});

describe('profile fields', () => {
  it('puts every changed field in one profile.update', () => {
    expect(ops({ name: 'B', status: 'inactive', timezone: 'UTC' }, me({ name: 'A', timezone: 'UTC' }))).toEqual([
      op({ type: 'profile.update', changes: [{ field: 'name', before: 'A', after: 'B' }, { field: 'status', before: 'active', after: 'inactive' }], idempotent: true }),
    ]);
  });
  it('marks only the env-sourced field sensitive', () => {
    expect(ops({ name: 'B', timezone: 'Asia/Kolkata', sensitive: ['timezone'] }, me({ name: 'A' }))).toEqual([
      op({
        type: 'profile.update',
        changes: [{ field: 'name', before: 'A', after: 'B' }, { field: 'timezone', after: 'Asia/Kolkata' }],
        idempotent: true,
        sensitive: true,
        sensitive_fields: ['timezone'],
      }),
    ]);
  });
});

describe('creating a profile', () => {
  it('creates with fields and channels, then properties and preferences, in execution order', () => {
    const result = ops(
      {
        name: 'Priya',
        channels: { email: 'p@x.io', sms: null, push: [{ token: 't1' }, { token: 't1' }] },
        properties: { plan: { op: 'set', value: 'premium' }, first: { op: 'once', value: 1 }, gone: { op: 'unset' } },
        preferences: { all: { sms: 'opted-out' } },
      },
      null,
      prefs([]),
    );
    expect(result).toEqual([
      op({ type: 'profile.create', profile: { name: 'Priya', channels: { email: 'p@x.io', push: [{ token: 't1' }] } }, sensitive: true, idempotent: false }),
      op({ type: 'property.set_once', key: 'first', value: 1, idempotent: true }),
      op({ type: 'property.set', key: 'plan', value: 'premium', idempotent: true }),
      op({ type: 'preference.set', topic: 'all', channel: 'sms', status: 'opted-out', before: 'opted-in', idempotent: true }),
    ]);
  });
  it('creates an empty profile when the file names only its id', () => {
    expect(ops({}, null)).toEqual([op({ type: 'profile.create', profile: {}, idempotent: false })]);
  });
});

describe('preferences', () => {
  const p = prefs([topic('S1', { sms: 'opted-out' }), topic('S2', {}, { sms: 'required' })], { whatsapp: 'opted-out' });
  it('plans only the topics and channels the file names', () => {
    expect(ops({ preferences: { S1: { email: 'opted-in' } } }, me(), p)).toEqual([]);
    expect(ops({ preferences: { S1: { sms: 'opted-in' } } }, me(), p)).toEqual([
      op({ type: 'preference.set', topic: 'S1', channel: 'sms', status: 'opted-in', before: 'opted-out', idempotent: true }),
    ]);
  });
  it('reads an absent global preference as opted-in', () => {
    expect(ops({ preferences: { all: { whatsapp: 'opted-out', email: 'opted-out' } } }, me(), p)).toEqual([
      op({ type: 'preference.set', topic: 'all', channel: 'email', status: 'opted-out', before: 'opted-in', idempotent: true }),
    ]);
  });
  it('reports a change to a required channel as an issue, not an operation', () => {
    const r = plan({ preferences: { S2: { sms: 'opted-out' } } }, me(), p);
    expect(r.operations).toEqual([]);
    expect(r.issues).toEqual([
      { distinct_id: ID, at: AT, field: 'preferences.S2.sms', message: 'channel sms is required for topic S2; its preference cannot be changed' },
    ]);
  });
  it('accepts a required channel that already has the desired status', () => {
    expect(ops({ preferences: { S2: { sms: 'opted-in' } } }, me(), p)).toEqual([]);
  });
  it('reports a channel the topic does not offer (off or absent in channel_config) when a change is needed', () => {
    const q = prefs([topic('S3', {}, { sms: 'off' })]);
    expect(ops({ preferences: { S3: { sms: 'opted-in' } } }, me(), q)).toEqual([]);
    const r = plan({ preferences: { S3: { sms: 'opted-out', webpush: 'opted-out' } } }, me(), q);
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => i.message)).toEqual([
      'channel sms is not enabled for topic S3 (channel_config); its preference cannot be set',
      'channel webpush is not enabled for topic S3 (channel_config); its preference cannot be set',
    ]);
  });
  it('reports an unknown topic', () => {
    expect(plan({ preferences: { S9: { sms: 'opted-in' } } }, me(), p).issues.map((i) => i.field)).toEqual(['preferences.S9.sms']);
  });
  it('reports preferences that were not read', () => {
    expect(plan({ preferences: { S1: { sms: 'opted-in' } } }, me()).issues.map((i) => i.field)).toEqual(['preferences']);
  });
});

describe('merge_from', () => {
  const lead = live('lead-88', { name: 'Lead', channels: { email: 'l@x.io' }, properties: { source: 'ads' } });
  it('merges an existing source into an existing target before anything else', () => {
    const r = planOperations(
      desired(profile(ID, { merge_from: ['lead-88'], name: 'Priya', properties: { source: { op: 'set', value: 'ads' } } })),
      actual([ID, me({ name: 'P' })], ['lead-88', lead]),
    );
    expect(r.operations).toEqual([
      op({ type: 'profile.merge', from: 'lead-88', rename: false, idempotent: false }),
      op({ type: 'profile.update', changes: [{ field: 'name', before: 'P', after: 'Priya' }], idempotent: true }),
    ]);
  });
  it('renames by merge when the target does not exist, and does not create it', () => {
    const r = planOperations(desired(profile(ID, { merge_from: ['lead-88'], channels: { email: 'l@x.io' } })), actual([ID, null], ['lead-88', lead]));
    expect(r.operations).toEqual([op({ type: 'profile.merge', from: 'lead-88', rename: true, idempotent: false })]);
  });
  it('merges a second source into the renamed profile', () => {
    const r = planOperations(desired(profile(ID, { merge_from: ['lead-88', 'lead-99'] })), actual([ID, null], ['lead-88', lead], ['lead-99', live('lead-99')]));
    expect(r.operations.map((o) => [o.type, (o as { rename?: boolean }).rename])).toEqual([
      ['profile.merge', true],
      ['profile.merge', false],
    ]);
  });
  it('skips a source that no longer exists (already merged) and creates the target', () => {
    const r = planOperations(desired(profile(ID, { merge_from: ['lead-88'] })), actual([ID, null], ['lead-88', null]));
    expect(r.operations).toEqual([op({ type: 'profile.create', profile: {}, idempotent: false })]);
  });
  it('reports a merge source whose live state was not read instead of skipping it', () => {
    const r = planOperations(desired(profile(ID, { merge_from: ['lead-88'] })), actual([ID, me()]));
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => i.message)).toEqual(['live state of merge source lead-88 was not read; cannot plan the merge']);
  });
  it('never merges away a protected profile', () => {
    const r = planOperations(desired(profile(ID, { merge_from: ['lead-88'] }), profile('lead-88', { protected: true })), actual([ID, me()], ['lead-88', lead]));
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => [i.distinct_id, i.field])).toEqual([[ID, 'merge_from']]);
  });
});

describe('state: absent', () => {
  it('deletes an existing profile', () => {
    expect(ops({ state: 'absent' }, me({ name: 'x' }))).toEqual([op({ type: 'profile.delete', idempotent: true })]);
  });
  it('plans nothing when it is already gone', () => {
    expect(ops({ state: 'absent' }, null)).toEqual([]);
  });
  it('never deletes a protected profile: an issue instead', () => {
    const r = plan({ state: 'absent', protected: true }, me());
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => i.field)).toEqual(['state']);
  });
});

describe('exact management with the ownership record', () => {
  const exact = { properties: true, preferences: false };
  it('unsets only owned keys the file no longer names, and drops them from the record', () => {
    const l = me({ properties: { a: 1, b: 2, c: 3, fyno_sync_managed: ['prop:a', 'prop:b'] } });
    expect(ops({ exact, properties: { a: { op: 'set', value: 1 } } }, l)).toEqual([
      op({ type: 'property.unset', key: 'b', before: 2, idempotent: true }),
      op({ type: 'property.remove', key: 'fyno_sync_managed', value: 'prop:b', idempotent: true }),
    ]);
  });
  it('records a newly managed key', () => {
    const l = me({ properties: { a: 1, fyno_sync_managed: ['prop:a'] } });
    expect(ops({ exact, properties: { a: { op: 'set', value: 1 }, d: { op: 'set', value: 'x' } } }, l)).toEqual([
      op({ type: 'property.set', key: 'd', value: 'x', idempotent: true }),
      op({ type: 'property.append', key: 'fyno_sync_managed', value: 'prop:d', idempotent: false }),
    ]);
  });
  it('starts the record with one $set and is a no-op once converged', () => {
    const d = { exact, properties: { a: { op: 'set', value: 1 } } } as const;
    expect(ops(d, me({ properties: { a: 1 } }))).toEqual([op({ type: 'property.set', key: 'fyno_sync_managed', value: ['prop:a'], idempotent: true })]);
    expect(ops(d, me({ properties: { a: 1, fyno_sync_managed: ['prop:a'] } }))).toEqual([]);
  });
  it('does not own a $once value someone else set', () => {
    const l = me({ properties: { f: 'theirs', fyno_sync_managed: [] } });
    expect(ops({ exact, properties: { f: { op: 'once', value: 'mine' } } }, l)).toEqual([]);
  });
  it('leaves the record and unnamed keys alone without exact mode', () => {
    expect(ops({ properties: {} }, me({ properties: { b: 2, fyno_sync_managed: ['prop:b'] } }))).toEqual([]);
  });
  it('returns an owned preference to the default under exact preferences', () => {
    const l = me({ properties: { fyno_sync_managed: ['pref:S1:sms'] } });
    expect(ops({ exact: { properties: false, preferences: true }, preferences: {} }, l, prefs([topic('S1', { sms: 'opted-out', email: 'opted-out' })]))).toEqual([
      op({ type: 'property.remove', key: 'fyno_sync_managed', value: 'pref:S1:sms', idempotent: true }),
      op({ type: 'preference.set', topic: 'S1', channel: 'sms', status: 'opted-in', before: 'opted-out', idempotent: true }),
    ]);
  });
  it('refuses the reserved property name in the file', () => {
    expect(plan({ properties: { fyno_sync_managed: { op: 'set', value: ['x'] } } }, me()).issues.map((i) => i.field)).toEqual(['properties.fyno_sync_managed']);
  });
  it('treats a property named like an Object prototype key as an ordinary key', () => {
    const l = me({ properties: { constructor: 1, fyno_sync_managed: ['prop:constructor'] } });
    expect(ops({ exact, properties: {} }, l)).toEqual([
      op({ type: 'property.unset', key: 'constructor', before: 1, idempotent: true }),
      op({ type: 'property.remove', key: 'fyno_sync_managed', value: 'prop:constructor', idempotent: true }),
    ]);
  });
});

describe('planOperations as a whole', () => {
  it('reports a profile whose live state was not read instead of guessing', () => {
    const r = planOperations(desired(profile(ID, { name: 'x' })), actual());
    expect(r.operations).toEqual([]);
    expect(r.issues.map((i) => i.field)).toEqual(['distinct_id']);
  });
  it('narrows to --target and --exclude globs', () => {
    const d = desired(profile('a-1', { name: 'x' }), profile('a-2', { name: 'x' }), profile('b-1', { name: 'x' }));
    const a = actual(['a-1', null], ['a-2', null], ['b-1', null]);
    expect(planOperations(d, a, { target: ['a-*'], exclude: ['a-2'] }).operations.map((o) => profileIdOf(o))).toEqual(['a-1']);
  });
  it('never modifies its arguments', () => {
    const d = desired(
      profile(ID, { merge_from: ['lead'], name: 'n', channels: { push: [{ token: 't' }] }, properties: { tags: { op: 'set', value: ['a'] } }, exact: { properties: true, preferences: true } }),
    );
    const a = actual([ID, me({ channels: { push: [{ token: 'u' }] }, properties: { tags: ['b'] } }), prefs([topic('S1')])], ['lead', live('lead', { properties: { x: 1 } })]);
    const before = structuredClone({ d, a: [...a] });
    planOperations(d, a);
    expect({ d, a: [...a] }).toEqual(before);
  });
});
