/**
 * The FynoApi contract, run against both implementations (STYLE.md, "The API is a port"):
 * MemoryFyno in-process, and HttpFynoClient talking real HTTP to the emulator. Over HTTP every
 * captured request and response is also validated against Fyno's OpenAPI file with
 * openapi-backend (test/support/openapi.ts), so neither the client nor the emulator can drift
 * from the published contract (issue #2, "Conformance").
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryFyno, startEmulator, type Exchange, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import { isFynoApiError, type FynoApiError } from '../../src/fyno/errors.js';
import type { FynoApi } from '../../src/fyno/types.js';
import { checkExchange } from '../support/openapi.js';

const WS = 'FYCONTRACT';
const KEY = 'contract-key-SECRET';

interface Subject {
  api: FynoApi;
  /** Apply accepted property requests now (Fyno applies them asynchronously). */
  flush(): void;
  reset(): void;
  /** Exchanges captured on the wire; undefined in-process. */
  exchanges: Exchange[] | undefined;
  /** A client with a wrong key, where auth exists. */
  wrongKey: FynoApi | undefined;
  close(): Promise<void>;
}

function memorySubject(): Subject {
  const api = new MemoryFyno({ workspace: WS, propertyDelayMs: 0 });
  return {
    api,
    flush: () => void api.flush(),
    reset: () => api.engine.reset(),
    exchanges: undefined,
    wrongKey: undefined,
    close: async () => api.close(),
  };
}

async function httpSubject(): Promise<Subject> {
  const exchanges: Exchange[] = [];
  const emu: RunningEmulator = await startEmulator({ apiKey: KEY, workspace: WS, propertyDelayMs: 0, onExchange: (x) => exchanges.push(x) });
  const client = (apiKey: string) =>
    new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: WS, env: 'live' }, apiKey, retry: { limit: 0, baseDelayMs: 1, maxDelayMs: 1 } });
  return {
    api: client(KEY),
    flush: () => void emu.engine.flush(),
    reset: () => emu.engine.reset(),
    exchanges,
    wrongKey: client('not-the-key'),
    close: () => emu.close(),
  };
}

async function failure(p: Promise<unknown>): Promise<FynoApiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isFynoApiError(e)) throw new Error(`expected a FynoApiError, got ${String(e)}`);
  return e;
}

describe.each([
  { name: 'MemoryFyno', make: async () => memorySubject(), hasAuth: false },
  { name: 'HttpFynoClient → emulator over HTTP', make: httpSubject, hasAuth: true },
])('FynoApi contract: $name', ({ make, hasAuth }) => {
  let s: Subject;
  let api: FynoApi;

  beforeAll(async () => {
    s = await make();
    api = s.api;
  });
  afterAll(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.reset();
    s.exchanges?.splice(0);
  });
  afterEach(async () => {
    if (s.exchanges === undefined) return;
    expect(s.exchanges.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const x of s.exchanges) {
      const r = await checkExchange({ method: x.method, path: x.path, headers: x.headers, body: x.requestBody, status: x.status, responseBody: placeholderKeys(x) });
      for (const err of [...r.requestErrors.map((m) => `request: ${m}`), ...r.responseErrors.map((m) => `response: ${m}`)]) {
        problems.push(`${x.method} ${x.path} → ${x.status}: ${err}`);
      }
    }
    expect(problems).toEqual([]);
  });

  // ---- profiles ----------------------------------------------------------------------------

  it('creates a profile and reads it back', async () => {
    await api.createProfile({
      distinct_id: 'ann',
      name: 'Ann Lee',
      status: 'active',
      timezone: 'Europe/Berlin',
      channels: { email: 'ann@example.com', sms: '+491701234567', push: [{ token: 'tok-a', integration_id: 'fcm1' }] },
    });
    const p = await api.getProfile('ann');
    expect(p).toMatchObject({
      distinct_id: 'ann',
      name: 'Ann Lee',
      status: 'active',
      timezone: 'Europe/Berlin',
      channels: { email: 'ann@example.com', sms: '+491701234567', push: [{ token: 'tok-a', integration_id: 'fcm1' }] },
    });
  });

  it('reads a missing profile as null', async () => {
    expect(await api.getProfile('nobody')).toBeNull();
  });

  it('refuses a duplicate create with 400 and Fyno’s message', async () => {
    await api.createProfile({ distinct_id: 'dup' });
    const e = await failure(api.createProfile({ distinct_id: 'dup', name: 'Again' }));
    expect(e.code).toBe('api.bad_request');
    expect(e.api).toMatchObject({ status: 400, fynoMessage: "Distinct ID 'dup' already exists in the 'live' version of your workspace", outcomeUnknown: false });
  });

  it('updates name, status and timezone and keeps channels', async () => {
    await api.createProfile({ distinct_id: 'u1', name: 'Old', channels: { email: 'u1@example.com' } });
    await api.updateProfile('u1', { name: 'New', status: 'inactive', timezone: 'Asia/Kolkata' });
    expect(await api.getProfile('u1')).toMatchObject({ name: 'New', status: 'inactive', timezone: 'Asia/Kolkata', channels: { email: 'u1@example.com' } });
  });

  it('deletes many profiles in one call', async () => {
    for (const id of ['d1', 'd2', 'keep']) await api.createProfile({ distinct_id: id });
    await api.deleteProfiles(['d1', 'd2']);
    expect(await api.getProfile('d1')).toBeNull();
    expect(await api.getProfile('d2')).toBeNull();
    expect(await api.getProfile('keep')).not.toBeNull();
  });

  it('merges a source into an existing target and removes the source', async () => {
    await api.createProfile({ distinct_id: 'src', name: 'Source', channels: { email: 'src@example.com', push: [{ token: 'tok-src' }] } });
    await api.createProfile({ distinct_id: 'tgt', name: 'Target', channels: { sms: '+14155550100', push: [{ token: 'tok-tgt' }] } });
    await api.mergeProfile('src', 'tgt');
    expect(await api.getProfile('src')).toBeNull();
    const t = await api.getProfile('tgt');
    expect(t).toMatchObject({ name: 'Target', channels: { sms: '+14155550100', email: 'src@example.com' } });
    expect(t!.channels.push!.map((x) => x.token).sort()).toEqual(['tok-src', 'tok-tgt']);
  });

  it('renames by merging into a target that does not exist', async () => {
    await api.createProfile({ distinct_id: 'old-id', name: 'Renamed', channels: { email: 'r@example.com' } });
    await api.mergeProfile('old-id', 'new-id');
    expect(await api.getProfile('old-id')).toBeNull();
    expect(await api.getProfile('new-id')).toMatchObject({ distinct_id: 'new-id', name: 'Renamed', channels: { email: 'r@example.com' } });
  });

  // ---- channels ----------------------------------------------------------------------------

  it('upserts single channels and inserts tokens', async () => {
    await api.createProfile({ distinct_id: 'c1', channels: { email: 'a@example.com', push: [{ token: 't1' }] } });
    await api.upsertChannels('c1', { email: 'b@example.com', whatsapp: '+14155550101', push: [{ token: 't2', integration_id: 'fcm1' }] });
    const p = await api.getProfile('c1');
    expect(p!.channels).toMatchObject({ email: 'b@example.com', whatsapp: '+14155550101' });
    expect(p!.channels.push!.map((x) => x.token).sort()).toEqual(['t1', 't2']);
  });

  it('deletes whole channels', async () => {
    await api.createProfile({ distinct_id: 'c2', channels: { email: 'a@example.com', sms: '+14155550102', push: [{ token: 't1' }] } });
    await api.deleteChannels('c2', ['email', 'push']);
    const p = await api.getProfile('c2');
    expect(p!.channels).toEqual({ sms: '+14155550102' });
  });

  it('deletes specific push and inapp tokens', async () => {
    await api.createProfile({ distinct_id: 'c3', channels: { push: [{ token: 'p1' }, { token: 'p2' }], inapp: [{ token: 'i1' }] } });
    await api.deleteTokens('c3', { push: ['p1'] });
    const p = await api.getProfile('c3');
    expect(p!.channels.push!.map((x) => x.token)).toEqual(['p2']);
    expect(p!.channels.inapp!.map((x) => x.token)).toEqual(['i1']);
  });

  // ---- preferences -------------------------------------------------------------------------

  it('reads preferences with topics in sections and an empty global `all`', async () => {
    await api.createProfile({ distinct_id: 'pref0' });
    const prefs = await api.getPreferences('pref0');
    expect(prefs.all).toEqual({});
    expect(prefs.topics.length).toBeGreaterThan(0);
    const sections = new Set(prefs.topics.map((t) => t.section));
    expect(sections.has('')).toBe(false);
    for (const t of prefs.topics) expect(Object.values(t.preference).every((v) => v === 'opted-in')).toBe(true);
  });

  it('puts preferences for several topics and for `all`', async () => {
    await api.createProfile({ distinct_id: 'pref1' });
    const [t1, t2] = optable(await api.getPreferences('pref1'));
    await api.setPreferences('pref1', { [t1!.id]: { [t1!.channel]: 'opted-out' }, [t2!.id]: { [t2!.channel]: 'opted-out' }, all: { whatsapp: 'opted-out' } });
    const after = await api.getPreferences('pref1');
    expect(after.all).toEqual({ whatsapp: 'opted-out' });
    expect(after.topics.find((t) => t.subscription_id === t1!.id)!.preference[t1!.channel]).toBe('opted-out');
    expect(after.topics.find((t) => t.subscription_id === t2!.id)!.preference[t2!.channel]).toBe('opted-out');
  });

  it('sets a single preference, also for `all`', async () => {
    await api.createProfile({ distinct_id: 'pref2' });
    const [t1] = optable(await api.getPreferences('pref2'));
    await api.setPreference('pref2', t1!.id, t1!.channel, 'opted-out');
    await api.setPreference('pref2', 'all', 'sms', 'opted-out');
    let after = await api.getPreferences('pref2');
    expect(after.topics.find((t) => t.subscription_id === t1!.id)!.preference[t1!.channel]).toBe('opted-out');
    expect(after.all).toEqual({ sms: 'opted-out' });
    await api.setPreference('pref2', 'all', 'sms', 'opted-in');
    after = await api.getPreferences('pref2');
    expect(after.all).toEqual({});
  });

  it('refuses a change to a required channel', async () => {
    await api.createProfile({ distinct_id: 'pref3' });
    const prefs = await api.getPreferences('pref3');
    const topic = prefs.topics.find((t) => Object.values(t.channel_config).includes('required'));
    expect(topic).toBeDefined();
    const channel = Object.entries(topic!.channel_config).find(([, c]) => c === 'required')![0] as 'sms';
    const e = await failure(api.setPreference('pref3', topic!.subscription_id, channel, 'opted-out'));
    expect(e.api.status).toBe(400);
  });

  // ---- properties (202, applied asynchronously) -------------------------------------------

  it('sets properties and set_once leaves existing values alone', async () => {
    await api.createProfile({ distinct_id: 'pr1' });
    const acc = await api.setProperties('pr1', { plan: 'pro', seats: 3, beta: true });
    expect(acc.request_id).not.toBe('');
    // A date-time, not a date-only value: see "spec defect" below.
    await api.setPropertiesOnce('pr1', { plan: 'free', signup: '2024-01-02T10:00:00.000Z' });
    s.flush();
    expect((await api.getProfile('pr1'))!.properties).toMatchObject({ plan: 'pro', seats: 3, beta: true, signup: '2024-01-02T10:00:00.000Z' });
  });

  it('adds to numbers, appends to and removes from lists, and unsets', async () => {
    await api.createProfile({ distinct_id: 'pr2' });
    await api.setProperties('pr2', { visits: 1, tags: ['a', 'b'], gone: 'x' });
    s.flush();
    await api.addToProperties('pr2', { visits: 4 });
    await api.appendToProperties('pr2', { tags: 'c' });
    await api.removeFromProperties('pr2', { tags: 'a' });
    await api.unsetProperties('pr2', ['gone']);
    s.flush();
    const props = (await api.getProfile('pr2'))!.properties;
    expect(props.visits).toBe(5);
    expect(props.tags).toEqual(['b', 'c']);
    expect(props).not.toHaveProperty('gone');
  });

  it('applies a batch of property actions across profiles', async () => {
    await api.createProfile({ distinct_id: 'b1' });
    await api.createProfile({ distinct_id: 'b2' });
    await api.batchProperties([
      { distinct_id: 'b1', action: { $set: { tier: 'gold' }, $add: { points: 10 } } },
      { distinct_id: 'b2', action: { $set: { tier: 'silver' }, $unset: ['nothing'] } },
    ]);
    s.flush();
    expect((await api.getProfile('b1'))!.properties).toMatchObject({ tier: 'gold', points: 10 });
    expect((await api.getProfile('b2'))!.properties).toMatchObject({ tier: 'silver' });
  });

  // ---- suppressions ------------------------------------------------------------------------

  it('lists, adds and deletes suppressions', async () => {
    expect(await api.listSuppressions()).toEqual([]);
    await api.addSuppression({ distinct_id: 'sup1', channel: 'sms', description: 'asked to stop' });
    await api.addSuppression({ destination: 'bounce@example.com', channel: 'email' });
    const list = await api.listSuppressions();
    expect(list.map((x) => [x.channel, x.distinct_id ?? x.destination]).sort()).toEqual([
      ['email', 'bounce@example.com'],
      ['sms', 'sup1'],
    ]);
    const email = list.find((x) => x.channel === 'email')!;
    await api.deleteSuppression({ _id: email._id });
    await api.deleteSuppression({ distinct_id: 'sup1' });
    expect(await api.listSuppressions()).toEqual([]);
  });

  // ---- error answers ------------------------------------------------------------------------

  it('answers writes to what does not exist with 400 and Fyno’s _message', async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['update', () => api.updateProfile('ghost', { name: 'x' })],
      ['delete', () => api.deleteProfiles(['ghost'])],
      ['merge', () => api.mergeProfile('ghost', 'other')],
      ['channel', () => api.upsertChannels('ghost', { email: 'g@example.com' })],
      ['suppression', () => api.deleteSuppression({ distinct_id: 'ghost' })],
    ];
    for (const [what, call] of calls) {
      const e = await failure(call());
      expect([what, e.api.status, typeof e.api.fynoMessage]).toEqual([what, 400, 'string']);
      expect(e.api.outcomeUnknown).toBe(false);
    }
    await api.createProfile({ distinct_id: 'c9', channels: { email: 'a@example.com' } });
    const e = await failure(api.deleteChannels('c9', ['sms']));
    expect(e.api.status).toBe(400);
  });

  // ---- auth --------------------------------------------------------------------------------

  // In-process there is no key to check.
  it.runIf(hasAuth)('answers a wrong key with 401 Invalid API details', async () => {
    const e = await failure(s.wrongKey!.getProfile('ann'));
    expect(e.code).toBe('api.unauthorized');
    expect(e.api).toMatchObject({ status: 401, fynoMessage: 'Invalid API details' });
    expect(JSON.stringify(e) + e.message).not.toContain('not-the-key');
  });
});

/**
 * The spec's `SubscriptionUpdated` response *requires* a key literally named `SXXXXXXXXX`: a
 * placeholder for the subscription id of the path (`all` included). Validate with the id put
 * back in the placeholder's place; everything else is validated as sent.
 */
function placeholderKeys(x: Exchange): unknown {
  const m = /^\/[^/]+\/[^/]+\/subscriptions\/list\/([^/?]+)\/user/.exec(x.path);
  const body = x.responseBody;
  if (!m || x.status !== 200 || typeof body !== 'object' || body === null) return body;
  const id = decodeURIComponent(m[1]!);
  if (id === 'SXXXXXXXXX' || !(id in body)) return body;
  const { [id]: value, ...rest } = body as Record<string, unknown>;
  return { ...rest, SXXXXXXXXX: value };
}

/** Two distinct (topic, channel) pairs a user may opt out of (config `on`). */
function optable(prefs: { topics: { subscription_id: string; channel_config: Record<string, string | undefined> }[] }): { id: string; channel: 'sms' }[] {
  const out: { id: string; channel: 'sms' }[] = [];
  for (const t of prefs.topics) {
    const ch = Object.entries(t.channel_config).find(([, c]) => c === 'on');
    if (ch) out.push({ id: t.subscription_id, channel: ch[0] as 'sms' });
  }
  expect(out.length).toBeGreaterThanOrEqual(2);
  return out;
}

describe('spec defect: property value oneOf', () => {
  it('rejects a date-only value that the spec itself gives as an example (string and string/date both match)', async () => {
    // set_user_property_fields.additionalProperties.oneOf lists `type: string` and `type: string,
    // format: date`, so "2021-12-01" (the spec's own property_7 example) matches two branches
    // and fails `oneOf`. Real requests with date-only values are valid for Fyno; the contract
    // tests above therefore use date-time values. If this starts passing, the spec was fixed.
    const r = await checkExchange({
      method: 'POST',
      path: '/FY1/live/profiles/properties/set',
      headers: { 'content-type': 'application/json' },
      body: { distinct_id: 'u1', $set: { property_7: '2021-12-01' } },
      status: 202,
      responseBody: { request_id: 'r1' },
    });
    expect(r.requestErrors).toContain('/requestBody/$set/property_7 must match exactly one schema in oneOf');
  });
});
