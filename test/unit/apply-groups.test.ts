/** Pure request grouping, settle checks and the dry-run request list. */
import { describe, expect, it } from 'vitest';
import { planRequests } from '../../src/apply/dry-run.js';
import { propertyItems, stepsForProfile, type KeyedOp } from '../../src/apply/groups.js';
import { divergenceReason, opSatisfied } from '../../src/apply/settle.js';
import type { Operation, Plan } from '../../src/plan/types.js';
import { live } from './plan-builders.js';

const AT = { file: 'p.yaml', line: 1, column: 1 };
const k = (op: Operation, i: number): KeyedOp => ({ key: `p:${i}`, op });
const keyed = (...ops: Operation[]): KeyedOp[] => ops.map(k);

const ID = 'u1';
const base = { distinct_id: ID, at: AT };

describe('stepsForProfile', () => {
  it('orders steps as PRODUCT.md says, deletes before the channel PATCH, one request per group', () => {
    const ops = keyed(
      { ...base, type: 'preference.set', topic: 'all', channel: 'sms', status: 'opted-out', idempotent: true },
      { ...base, type: 'property.set', key: 'plan', value: 'gold', idempotent: true },
      { ...base, type: 'channel.set', channel: 'push', value: [{ token: 'n' }], idempotent: false },
      { ...base, type: 'channel.set', channel: 'email', value: 'a@b.io', idempotent: true },
      { ...base, type: 'channel.delete', channel: 'push', tokens: ['o'], idempotent: true },
      { ...base, type: 'channel.delete', channel: 'sms', idempotent: true },
      { ...base, type: 'profile.update', changes: [{ field: 'name', after: 'N' }], idempotent: true },
      { ...base, type: 'preference.set', topic: 'S1', channel: 'email', status: 'opted-in', idempotent: true },
      { ...base, type: 'profile.merge', from: 'lead', rename: false, idempotent: false },
    );
    const steps = stepsForProfile(ops);
    expect(steps.map((s) => s.kind)).toEqual(['merge', 'update', 'channels.delete', 'tokens.delete', 'channels.set', 'properties', 'preferences']);
    expect(steps[4]).toMatchObject({ channels: { email: 'a@b.io', push: [{ token: 'n' }] } });
    expect(steps[3]).toMatchObject({ tokens: { push: ['o'], inapp: [] } });
    expect(steps[6]).toMatchObject({ update: { all: { sms: 'opted-out' }, S1: { email: 'opted-in' } } });
  });

  it('keys a topic or property named like an Object member (constructor, toString) as its own key', () => {
    const steps = stepsForProfile(
      keyed(
        { ...base, type: 'preference.set', topic: 'constructor', channel: 'sms', status: 'opted-out', idempotent: true },
        { ...base, type: 'preference.set', topic: 'toString', channel: 'email', status: 'opted-in', idempotent: true },
      ),
    );
    const update = (steps[0] as { update: Record<string, Record<string, string>> }).update;
    expect(JSON.parse(JSON.stringify(update))).toEqual({ constructor: { sms: 'opted-out' }, toString: { email: 'opted-in' } });
    const items = propertyItems(keyed({ ...base, type: 'property.set', key: 'constructor', value: 'x', idempotent: true }, { ...base, type: 'property.append', key: 'hasOwnProperty', value: 'y', idempotent: false }));
    expect(JSON.parse(JSON.stringify(items))).toEqual([{ distinct_id: ID, action: { $set: { constructor: 'x' }, $append: { hasOwnProperty: 'y' } } }]);
  });
});

describe('propertyItems', () => {
  it('combines a profile’s actions in one item and starts a new one when a key repeats', () => {
    const items = propertyItems(
      keyed(
        { ...base, type: 'property.set', key: 'a', value: 1, idempotent: true },
        { ...base, type: 'property.append', key: 'tags', value: 'x', idempotent: false },
        { ...base, type: 'property.unset', key: 'old', idempotent: true },
        { distinct_id: 'u2', at: AT, type: 'property.set_once', key: 'a', value: 2, idempotent: true },
        { ...base, type: 'property.remove', key: 'tags', value: 'y', idempotent: true },
      ),
    );
    expect(items).toEqual([
      { distinct_id: ID, action: { $set: { a: 1 }, $append: { tags: 'x' }, $unset: ['old'] } },
      { distinct_id: 'u2', action: { $once: { a: 2 } } },
      { distinct_id: ID, action: { $remove: { tags: 'y' } } },
    ]);
  });
});

describe('opSatisfied', () => {
  it('judges tokens, list values, dates by instant and unknown preferences', () => {
    const p = live(ID, { channels: { push: [{ token: 't', integration_id: 'I' }] }, properties: { tags: ['a'], d: '2024-03-01T00:00:00Z' } });
    expect(opSatisfied({ ...base, type: 'channel.set', channel: 'push', value: [{ token: 't', integration_id: 'I' }], idempotent: false }, { profile: p })).toBe(true);
    expect(opSatisfied({ ...base, type: 'channel.set', channel: 'push', value: [{ token: 't', integration_id: 'J' }], idempotent: false }, { profile: p })).toBe(false);
    expect(opSatisfied({ ...base, type: 'property.append', key: 'tags', value: 'a', idempotent: false }, { profile: p })).toBe(true);
    expect(opSatisfied({ ...base, type: 'property.remove', key: 'tags', value: 'a', idempotent: true }, { profile: p })).toBe(false);
    expect(opSatisfied({ ...base, type: 'property.set', key: 'd', value: '2024-03-01', idempotent: true }, { profile: p })).toBe(true);
    expect(opSatisfied({ ...base, type: 'preference.set', topic: 'all', channel: 'sms', status: 'opted-out', idempotent: true }, { profile: p })).toBeUndefined();
    expect(opSatisfied({ ...base, type: 'profile.delete', idempotent: true }, { profile: null })).toBe(true);
  });

  it('names a type mismatch as the reason a property did not converge', () => {
    const p = live(ID, { properties: { ltv: 5 } });
    expect(divergenceReason({ ...base, type: 'property.set', key: 'ltv', value: 'lots', idempotent: true }, { profile: p }, 100)).toMatch(/type mismatch.*number.*string/);
  });
});

describe('planRequests (dry run)', () => {
  it('lists the requests apply sends, batching properties across profiles and chunking deletes', () => {
    const ops: Operation[] = [
      { distinct_id: 'a', at: AT, type: 'profile.create', profile: { name: 'A' }, idempotent: false },
      { distinct_id: 'a', at: AT, type: 'property.set', key: 'x', value: 1, idempotent: true },
      { distinct_id: 'b', at: AT, type: 'property.set', key: 'x', value: 2, idempotent: true },
      { distinct_id: 'c', at: AT, type: 'profile.delete', idempotent: true },
      { distinct_id: 'd', at: AT, type: 'profile.delete', idempotent: true },
    ];
    const plan = { operations: ops } as unknown as Plan;
    const reqs = planRequests(plan, { baseUrl: 'http://127.0.0.1/v1', workspace: 'W', env: 'test' }, { batchSize: 1 });
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /W/test/profiles',
      'POST /W/test/profiles/properties/batch',
      'POST /W/test/profiles/properties/batch',
      'POST /W/test/profiles/delete',
      'POST /W/test/profiles/delete',
    ]);
    expect(reqs[1]?.body).toEqual({ batch: [{ distinct_id: 'a', action: { $set: { x: 1 } } }] });
  });
});
