import { describe, expect, it } from 'vitest';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { seedStore } from '../../src/fyno/emulator/seed.js';
import { FynoStore } from '../../src/fyno/emulator/store.js';
import { isFynoApiError } from '../../src/fyno/errors.js';

async function rejection(p: Promise<unknown>): Promise<{ status?: number; fynoMessage?: string; code: string }> {
  try {
    await p;
  } catch (e) {
    if (!isFynoApiError(e)) throw e;
    return { status: e.api.status, fynoMessage: e.api.fynoMessage, code: e.code };
  }
  throw new Error('expected a rejection');
}

describe('MemoryFyno profiles', () => {
  it('creates, reads back with server fields, and returns null for an unknown id', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u1', name: 'Priya', status: 'active', timezone: 'Asia/Kolkata', channels: { sms: '+919812345678', email: 'p@x.io' } });
    const p = await f.getProfile('u1');
    expect(p).toMatchObject({ distinct_id: 'u1', name: 'Priya', status: 'active', timezone: 'Asia/Kolkata', channels: { sms: '+919812345678', email: 'p@x.io' } });
    expect(p?.server).toMatchObject({ country_code: 'IN', timezone_offset: '+05:30' });
    expect(await f.getProfile('nobody')).toBeNull();
  });

  it('refuses a duplicate create with the spec message naming the env', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u1' });
    expect(await rejection(f.createProfile({ distinct_id: 'u1' }))).toEqual({
      status: 400,
      code: 'api.bad_request',
      fynoMessage: "Distinct ID 'u1' already exists in the 'live' version of your workspace",
    });
  });

  it('keeps live and test apart when they share a store', async () => {
    const store = new FynoStore();
    const live = new MemoryFyno({ store });
    const test = new MemoryFyno({ store, env: 'test' });
    await live.createProfile({ distinct_id: 'u1', name: 'L' });
    expect(await test.getProfile('u1')).toBeNull();
    await test.createProfile({ distinct_id: 'u1', name: 'T' });
    expect((await live.getProfile('u1'))?.name).toBe('L');
    expect((await test.getProfile('u1'))?.name).toBe('T');
  });

  it('merges into an existing target and deletes the source', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'lead', name: 'Lead', channels: { email: 'lead@x.io', push: [{ token: 't1' }] } });
    await f.createProfile({ distinct_id: 'cust', name: 'Cust', channels: { push: [{ token: 't2' }] } });
    await f.setProperties('lead', { plan: 'free', score: 3 });
    await f.setProperties('cust', { plan: 'pro' });
    await f.mergeProfile('lead', 'cust');
    expect(await f.getProfile('lead')).toBeNull();
    const c = await f.getProfile('cust');
    expect(c?.name).toBe('Cust');
    expect(c?.channels.email).toBe('lead@x.io');
    expect(c?.channels.push?.map((t) => t.token)).toEqual(['t2', 't1']);
    expect(c?.properties).toEqual({ plan: 'pro', score: 3 });
    expect(c?.server.id_list).toHaveLength(1);
  });

  it('renames the source when the merge target does not exist', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'old', name: 'N' });
    await f.mergeProfile('old', 'new');
    expect(await f.getProfile('old')).toBeNull();
    expect((await f.getProfile('new'))?.name).toBe('N');
    expect((await rejection(f.mergeProfile('ghost', 'new'))).fynoMessage).toBe('merge from id does not exist');
  });

  it('deletes many profiles at once and ignores unknown ids unless all are unknown', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'a' });
    await f.createProfile({ distinct_id: 'b' });
    await f.deleteProfiles(['a', 'b', 'zz']);
    expect(await f.getProfile('a')).toBeNull();
    expect((await rejection(f.deleteProfiles(['a']))).fynoMessage).toBe('Cannot delete non existing user');
  });
});

describe('MemoryFyno channels', () => {
  it('inserts push tokens without duplicating a token already present, whose entry the request replaces in place', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u', channels: { push: [{ token: 't0' }, { token: 't1', integration_id: 'I1' }] } });
    await f.upsertChannels('u', { push: [{ token: 't1', status: 0 }, { token: 't2' }], email: 'e@x.io' });
    const p = await f.getProfile('u');
    // t1 keeps its place; the omitted integration_id takes the spec's default (all integrations).
    expect(p?.channels.push).toEqual([
      { token: 't0', status: 1 },
      { token: 't1', status: 0 },
      { token: 't2', status: 1 },
    ]);
    expect(p?.channels.email).toBe('e@x.io');
  });

  it('deletes specific tokens and whole channels; deleting nothing is a 400', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u', channels: { email: 'e@x.io', push: [{ token: 't1' }, { token: 't2' }] } });
    await f.deleteTokens('u', { push: ['t1'] });
    expect((await f.getProfile('u'))?.channels.push?.map((t) => t.token)).toEqual(['t2']);
    await f.deleteChannels('u', ['email']);
    expect((await f.getProfile('u'))?.channels.email).toBeUndefined();
    expect((await rejection(f.deleteChannels('u', ['email']))).fynoMessage).toBe('Unable to delete channel since the channel does not exist');
  });
});

describe('MemoryFyno preferences', () => {
  it('reads topics by section with channel_config, and refuses a change to a required channel', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u' });
    const before = await f.getPreferences('u');
    const orders = before.topics.find((t) => t.subscription_id === 'SXXXXXXXXX');
    expect(orders).toMatchObject({ section: 'Section1', channel_config: { email: 'required', sms: 'on' }, preference: { email: 'opted-in', sms: 'opted-in' } });
    await f.setPreferences('u', { SXXXXXXXXX: { sms: 'opted-out' }, all: { whatsapp: 'opted-out' } });
    const after = await f.getPreferences('u');
    expect(after.topics.find((t) => t.subscription_id === 'SXXXXXXXXX')?.preference.sms).toBe('opted-out');
    expect(after.all).toEqual({ whatsapp: 'opted-out' });
    const r = await rejection(f.setPreference('u', 'SXXXXXXXXX', 'email', 'opted-out'));
    expect(r.status).toBe(400);
    expect(r.fynoMessage).toMatch(/required/);
  });
});

describe('MemoryFyno properties', () => {
  it('applies at once with propertyDelayMs 0 and infers a type on first set, ignoring mismatches', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u' });
    const acc = await f.setProperties('u', { ltv: 10, tags: ['a'] });
    expect(acc.request_id).toMatch(/^[0-9a-f-]{36}$/);
    await f.setProperties('u', { ltv: 'lots' });
    await f.appendToProperties('u', { tags: 'b' });
    await f.appendToProperties('u', { tags: 'b' });
    await f.addToProperties('u', { ltv: 5 });
    expect((await f.getProfile('u'))?.properties).toEqual({ ltv: 15, tags: ['a', 'b'] });
    await f.batchProperties([{ distinct_id: 'u', action: { $unset: ['ltv'], $remove: { tags: 'a' } } }]);
    expect((await f.getProfile('u'))?.properties).toEqual({ tags: ['b'] });
  });

  it('holds property requests until flush() when a delay is set', async () => {
    const f = new MemoryFyno({ propertyDelayMs: 60_000 });
    await f.createProfile({ distinct_id: 'u' });
    await f.setProperties('u', { plan: 'pro' });
    expect((await f.getProfile('u'))?.properties).toEqual({});
    expect(f.flush()).toBe(1);
    expect((await f.getProfile('u'))?.properties).toEqual({ plan: 'pro' });
    f.close();
  });

  it('counts requests by method and route template', async () => {
    const f = new MemoryFyno();
    await f.createProfile({ distinct_id: 'u' });
    await f.upsertChannels('u', { email: 'a@x.io' });
    await f.upsertChannels('u', { email: 'b@x.io' });
    await f.getProfile('u');
    expect(f.requests).toEqual({
      'POST /{WSID}/{version}/profiles': 1,
      'PATCH /{WSID}/{version}/profiles/{distinct_id}/channel': 2,
      'GET /{WSID}/{version}/profiles/{distinct_id}': 1,
    });
    expect(f.writeCount).toBe(3);
  });

  it('throws apply.interrupted for an aborted signal without touching state', async () => {
    const f = new MemoryFyno();
    const ac = new AbortController();
    ac.abort();
    const r = await rejection(f.createProfile({ distinct_id: 'u' }, { signal: ac.signal }));
    expect(r.code).toBe('apply.interrupted');
    expect(await f.getProfile('u')).toBeNull();
  });
});

describe('MemoryFyno faults', () => {
  it('failNext error throws the status without applying; lost applies and reports outcome unknown', async () => {
    const f = new MemoryFyno();
    f.failNext(1, { status: 429 });
    const r429 = await f.createProfile({ distinct_id: 'a' }).catch((e: unknown) => e);
    expect(isFynoApiError(r429) && r429.api).toMatchObject({ status: 429, retryable: true, retryAfterSeconds: 1, outcomeUnknown: false });
    expect(await f.getProfile('a')).toBeNull();
    f.failNext(1, { kind: 'lost' });
    const lost = await f.createProfile({ distinct_id: 'a' }).catch((e: unknown) => e);
    expect(isFynoApiError(lost) && [lost.code, lost.api.outcomeUnknown]).toEqual(['api.network', true]);
    expect(await f.getProfile('a')).not.toBeNull();
    f.failNext(1, { kind: 'timeout' });
    const to = await f.createProfile({ distinct_id: 'b' }).catch((e: unknown) => e);
    expect(isFynoApiError(to) && to.code).toBe('api.timeout');
    expect(await f.getProfile('b')).toBeNull();
  });
});

describe('emulator seed: suppression expiry', () => {
  it('puts a seeded expiry_ts on the entry the seed names, also when that entry already existed', async () => {
    const store = new FynoStore();
    const now = '2026-01-01T00:00:00.000Z';
    seedStore(
      store,
      {
        workspace: 'FY1',
        suppressions: [
          { channel: 'email', destination: 'a@example.com' },
          { channel: 'email', destination: 'b@example.com' },
          // Names the first entry again: it gets the expiry, not the last entry of the list.
          { channel: 'email', destination: 'a@example.com', expiry_ts: '2020-01-01T00:00:00.000Z' },
        ],
      },
      now,
      'FY1',
    );
    const list = store.suppressionList('FY1');
    expect(list.map((s) => [s.destination, s.expiry_ts])).toEqual([
      ['a@example.com', '2020-01-01T00:00:00.000Z'],
      ['b@example.com', undefined],
    ]);
    // An expired entry is not listed; the other one still is.
    const f = new MemoryFyno({ store, workspace: 'FY1', now: () => new Date(now) });
    expect((await f.listSuppressions()).map((s) => s.destination)).toEqual(['b@example.com']);
  });
});

describe('emulator seed: property values', () => {
  it('refuses a property value $set would refuse, naming the item, before the profile is created', () => {
    for (const bad of [null, { a: 1 }, [null], [[1]]]) {
      const store = new FynoStore();
      let message = '';
      try {
        seedStore(store, { workspace: 'FY1', profiles: [{ distinct_id: 'u1', properties: { ok: 1, x: bad } }] }, '2026-01-01T00:00:00.000Z', 'FY1');
      } catch (e) {
        message = (e as Error).message;
      }
      expect([bad, message]).toEqual([bad, 'profiles[0].properties: $set has object/keys that is not allowed']);
      expect(store.space('FY1', 'live').profiles.has('u1')).toBe(false);
    }
  });

  it('still seeds empty properties and every value $set takes', () => {
    const store = new FynoStore();
    seedStore(store, { workspace: 'FY1', profiles: [{ distinct_id: 'u1', properties: {} }, { distinct_id: 'u2', properties: { s: 'a', n: 1, b: true, l: ['x', 2] } }] }, '2026-01-01T00:00:00.000Z', 'FY1');
    expect(store.space('FY1', 'live').profiles.get('u2')!.properties).toEqual({ s: 'a', n: 1, b: true, l: ['x', 2] });
  });
});
