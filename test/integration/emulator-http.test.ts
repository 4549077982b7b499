import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Exchange, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { checkExchange } from '../support/openapi.js';

const WS = 'FYEMULATOR';
let em: RunningEmulator;
const exchanges: Exchange[] = [];

beforeAll(async () => {
  em = await startEmulator({ propertyDelayMs: 0, onExchange: (x) => exchanges.push(x) });
});
afterAll(async () => {
  await em.close();
});
afterEach(async () => {
  await admin('POST', 'reset');
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${em.baseUrl}${path}`, {
    method,
    headers: { authorization: 'Bearer emulator-key', 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${em.adminUrl}/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return res.json();
}

const P = `/${WS}/live/profiles`;

describe('profiles over HTTP', () => {
  it('creates (201), reads (200 with properties and channel_raw), and refuses a duplicate (400)', async () => {
    expect(await call('POST', P, { distinct_id: 'u1', name: 'Priya', channel: { email: 'p@x.io', push: [{ token: 'T1' }] } })).toMatchObject({
      status: 201,
      body: { _message: 'Profile created successfully', status: 'ok' },
    });
    const got = await call('GET', `${P}/u1`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      distinct_id: 'u1',
      name: 'Priya',
      status: 1,
      channel: { email: 'p@x.io', push: [{ token: 'T1', status: 1 }] },
      channel_raw: { email: { channel_data: { email: 'p@x.io' } } },
      properties: {},
      version: 'live',
    });
    expect(await call('POST', P, { distinct_id: 'u1' })).toMatchObject({
      status: 400,
      body: { _message: "Distinct ID 'u1' already exists in the 'live' version of your workspace", status: 'error' },
    });
  });

  it('answers 400 "incorrect/non existing distinct_id provided" for a missing profile', async () => {
    expect(await call('GET', `${P}/ghost`)).toMatchObject({ status: 400, body: { _message: 'incorrect/non existing distinct_id provided', status: 'error' } });
  });

  it('keeps live and test apart', async () => {
    await call('POST', P, { distinct_id: 'u1' });
    expect((await call('GET', `/${WS}/test/profiles/u1`)).status).toBe(400);
    expect((await call('POST', `/${WS}/test/profiles`, { distinct_id: 'u1' })).status).toBe(201);
  });

  it('merges, renames by merge, and bulk-deletes', async () => {
    await call('POST', P, { distinct_id: 'a', channel: { email: 'a@x.io' } });
    await call('POST', P, { distinct_id: 'b' });
    expect(await call('PATCH', `${P}/a/merge/b`)).toMatchObject({ status: 200, body: { _message: '1 Record(s) updated and 1 Records(s) deleted' } });
    expect((await call('GET', `${P}/b`)).body.channel).toEqual({ email: 'a@x.io' });
    expect((await call('PATCH', `${P}/b/merge/c`)).status).toBe(200);
    expect((await call('GET', `${P}/c`)).status).toBe(200);
    expect(await call('PATCH', `${P}/zz/merge/c`)).toMatchObject({ status: 400, body: { _message: 'merge from id does not exist' } });
    expect(await call('POST', `${P}/delete`, { distinct_id: ['c', 'nope'] })).toMatchObject({ status: 200, body: { _message: '1 User(s) deleted successfully' } });
    expect(await call('POST', `${P}/delete`, { distinct_id: ['c'] })).toMatchObject({ status: 400, body: { _message: 'Cannot delete non existing user' } });
  });

  it('applies properties asynchronously after the delay', async () => {
    const slow = await startEmulator({ propertyDelayMs: 150 });
    try {
      const h = { authorization: 'Bearer emulator-key', 'content-type': 'application/json' };
      await fetch(`${slow.baseUrl}${P}`, { method: 'POST', headers: h, body: JSON.stringify({ distinct_id: 'u' }) });
      const acc = await fetch(`${slow.baseUrl}${P}/properties/set`, { method: 'POST', headers: h, body: JSON.stringify({ distinct_id: 'u', $set: { plan: 'pro' } }) });
      expect(acc.status).toBe(202);
      expect(((await acc.json()) as { request_id: string }).request_id).toBeTruthy();
      const read = async () => ((await (await fetch(`${slow.baseUrl}${P}/u`, { headers: h })).json()) as { properties: unknown }).properties;
      expect(await read()).toEqual({});
      await new Promise((r) => setTimeout(r, 400));
      expect(await read()).toEqual({ plan: 'pro' });
    } finally {
      await slow.close();
    }
  });
});

describe('bad input never crashes the server', () => {
  it('answers malformed JSON, missing fields, wrong types and unknown routes in Fyno error shape', async () => {
    expect(await call('POST', P, '{"distinct_id":')).toMatchObject({ status: 400, body: { status: 'error', _message: expect.stringMatching(/Malformed JSON/) } });
    expect(await call('POST', P, {})).toMatchObject({ status: 400, body: { _message: 'distinct_id is required!' } });
    expect(await call('POST', P, [1, 2])).toMatchObject({ status: 400, body: { _message: 'distinct_id is required!' } });
    expect(await call('POST', P, { distinct_id: 'x', status: 7 })).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await call('POST', P, { distinct_id: 'x', channel: { fax: '1' } })).toMatchObject({ status: 400, body: { _message: "Invalid channel 'fax'" } });
    expect(await call('POST', `${P}/properties/set`, { distinct_id: 'x', $set: {} })).toMatchObject({ status: 400, body: { _message: '$set has object/keys that is not allowed' } });
    expect(await call('POST', `${P}/properties/unset`, { distinct_id: 'x', $unset: [] })).toMatchObject({ status: 400, body: { _message: '$unset channel should have atleast one item in array' } });
    expect(await call('GET', `/${WS}/live/subscriptions/preference`)).toMatchObject({ status: 400, body: { _message: 'distinct_id is required to list preference!' } });
    expect(await call('GET', `/${WS}/prod/profiles/x`)).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await call('DELETE', `${P}/x`)).toMatchObject({ status: 404, body: { status: 'error' } });
    expect(await call('GET', `/${WS}/live/%E0%A4%A/x`)).toMatchObject({ status: 404 });
    const raw = await fetch(`${em.baseUrl.replace('/v1', '')}/elsewhere`);
    expect(raw.status).toBe(404);
    expect((await call('GET', `${P}/x`)).status).toBe(400); // still alive
  });

  it('answers 401 Invalid API details without a key, with a wrong key, or for another workspace', async () => {
    const body = { _message: 'Invalid API details', status: 'error' };
    expect(await call('GET', `${P}/x`, undefined, { authorization: '' })).toMatchObject({ status: 401, body });
    expect(await call('GET', `${P}/x`, undefined, { authorization: 'Bearer nope' })).toMatchObject({ status: 401, body });
    expect(await call('GET', '/FYOTHER/live/profiles/x')).toMatchObject({ status: 401, body });
  });
});

describe('preferences and channels over HTTP', () => {
  it('refuses to change a required channel and updates others', async () => {
    await call('POST', P, { distinct_id: 'u' });
    const q = `/${WS}/live/subscriptions/preference?distinct_id=u`;
    const refused = await call('PUT', q, { user_preference: { SXXXXXXXXX: { email: 'opted-out' } } });
    expect(refused.status).toBe(400);
    const okPut = await call('PUT', q, { user_preference: { SXXXXXXXXX: { sms: 'opted-out' }, all: { push: 'opted-out' } } });
    expect(okPut).toMatchObject({ status: 200, body: { SXXXXXXXXX: { sms: 'opted-out', email: 'opted-in' }, all: { push: 'opted-out' } } });
    const got = await call('GET', q);
    expect(got.body.meta.all.preference).toEqual({ push: 'opted-out' });
    expect(got.body.result.Section1[0]).toMatchObject({ subscription_id: 'SXXXXXXXXX', preference: { sms: 'opted-out' }, is_global_opted_out: { push: true } });
  });

  it('inserts tokens by value and deletes them', async () => {
    await call('POST', P, { distinct_id: 'u', channel: { push: [{ token: 'T1' }] } });
    await call('PATCH', `${P}/u/channel`, { channel: { push: [{ token: 'T1', integration_id: 'I' }, { token: 'T2' }] } });
    expect((await call('GET', `${P}/u`)).body.channel.push).toEqual([
      { token: 'T1', integration_id: 'I', status: 1 },
      { token: 'T2', status: 1 },
    ]);
    expect((await call('POST', `${P}/u/channel/delete`, { push: ['T1'], inapp: [] })).status).toBe(200);
    expect((await call('GET', `${P}/u`)).body.channel.push).toEqual([{ token: 'T2', status: 1 }]);
  });
});

describe('admin API', () => {
  it('seeds, counts requests by route template, flushes, dumps and resets', async () => {
    const seeded = await admin('POST', 'seed', {
      topics: [{ subscription_id: 'S1', name: 'News', section: 'Main', channel_config: { email: 'on', sms: 'required' } }],
      profiles: [{ distinct_id: 's1', name: 'Seeded', channel: { email: 's@x.io' }, properties: { plan: 'pro' } }],
      preferences: { s1: { S1: { email: 'opted-out' } } },
    });
    expect(seeded).toEqual({ status: 'ok', profiles: 1 });
    await admin('POST', 'stats/reset');
    expect((await call('GET', `${P}/s1`)).body).toMatchObject({ name: 'Seeded', properties: { plan: 'pro' } });
    await call('PATCH', `${P}/s1/channel`, { channel: { sms: '+14155550100' } });
    await call('PATCH', `${P}/s1/channel`, { channel: { sms: '+14155550101' } });
    const prefs = await call('GET', `/${WS}/live/subscriptions/preference?distinct_id=s1`);
    expect(prefs.body.result.Main[0].preference).toEqual({ email: 'opted-out', sms: 'opted-in' });
    const stats = await admin('GET', 'stats');
    expect(stats.requests).toEqual({
      'GET /{WSID}/{version}/profiles/{distinct_id}': 1,
      'PATCH /{WSID}/{version}/profiles/{distinct_id}/channel': 2,
      'GET /{WSID}/{version}/subscriptions/preference': 1,
    });
    expect(stats.writes).toEqual({ 'PATCH /{WSID}/{version}/profiles/{distinct_id}/channel': 2 });
    const state = await admin('GET', 'state');
    expect(state.spaces[0].profiles[0].distinct_id).toBe('s1');
    expect(await admin('POST', 'reset')).toEqual({ status: 'ok' });
    expect((await call('GET', `${P}/s1`)).status).toBe(400);
  });

  it('flush applies pending property requests at once', async () => {
    await admin('POST', 'faults', {});
    const slow = await startEmulator({ propertyDelayMs: 60_000 });
    try {
      const h = { authorization: 'Bearer emulator-key' };
      await fetch(`${slow.baseUrl}${P}/properties/set`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ distinct_id: 'n', $set: { a: 1 } }) });
      expect(((await (await fetch(`${slow.adminUrl}/stats`)).json()) as { pendingProperties: number }).pendingProperties).toBe(1);
      expect(await (await fetch(`${slow.adminUrl}/flush`, { method: 'POST' })).json()).toEqual({ status: 'ok', applied: 1 });
      const p = (await (await fetch(`${slow.baseUrl}${P}/n`, { headers: h })).json()) as { properties: unknown };
      expect(p.properties).toEqual({ a: 1 });
    } finally {
      await slow.close();
    }
  });

  it('rejects a bad seed with 400 and names the item', async () => {
    const res = await fetch(`${em.adminUrl}/seed`, { method: 'POST', body: JSON.stringify({ profiles: [{ name: 'no id' }] }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { _message: string })._message).toBe('profiles[0]: distinct_id is required!');
  });
});

describe('conformance', () => {
  it('every exchange with a status the spec declares validates against the OpenAPI file', async () => {
    exchanges.length = 0;
    await call('POST', P, { distinct_id: 'c1', name: 'C', timezone: 'Asia/Kolkata', channel: { sms: '+919812345678', push: [{ token: 'T', integration_id: 'I' }] } });
    await call('POST', P, { distinct_id: 'c1' });
    await call('GET', `${P}/c1`);
    await call('GET', `${P}/zz`);
    await call('PUT', `${P}/c1`, { name: 'D' });
    await call('PATCH', `${P}/c1/channel`, { channel: { email: 'c@x.io' } });
    await call('POST', `${P}/c1/channel/delete`, { channel: ['email'] });
    await call('POST', `${P}/properties/set`, { distinct_id: 'c1', $set: { a: 1 } });
    await call('POST', `${P}/properties/batch`, { batch: [{ distinct_id: 'c1', action: { $append: { l: 'x' } } }] });
    await call('GET', `/${WS}/live/subscriptions/preference?distinct_id=c1`);
    await call('PUT', `/${WS}/live/subscriptions/preference?distinct_id=c1`, { user_preference: { SXXXXXXXXX: { sms: 'opted-out' } } });
    await call('POST', `/${WS}/live/subscriptions/list/SXXXXXXXXX/user`, { distinct_id: 'c1', channel: 'push', status: 'opted-out' });
    await call('POST', `/${WS}/suppressions`, { channel: 'email', destination: 'x@y.io' });
    await call('GET', `/${WS}/suppressions`);
    await call('POST', P, { distinct_id: 'c2' });
    await call('PATCH', `${P}/c2/merge/c1`);
    await call('POST', `${P}/delete`, { distinct_id: ['c1'] });
    await call('GET', `${P}/c1`, undefined, { authorization: 'Bearer wrong' });
    // every remaining operation, and the error answers the spec declares
    await call('POST', P, { distinct_id: 'c3', channel: { push: [{ token: 'T1' }], inapp: [{ token: 'I1' }] } });
    await call('POST', `${P}/c3/channel/delete`, { push: ['T1'], inapp: [] });
    await call('POST', `${P}/c3/channel/delete`, { channel: ['email'] });
    await call('PATCH', `${P}/c3/channel`, { channel: { sms: '+14155550100' } });
    await call('PATCH', `${P}/zz/channel`, { channel: { sms: '+14155550100' } });
    await call('PUT', `${P}/zz`, { name: 'x' });
    await call('PATCH', `${P}/zz/merge/c3`);
    await call('POST', `${P}/delete`, { distinct_id: ['zz'] });
    await call('POST', `${P}/properties/set-once`, { distinct_id: 'c3', $once: { first: 'web' } });
    await call('POST', `${P}/properties/numerical-add`, { distinct_id: 'c3', $add: { n: 2 } });
    await call('POST', `${P}/properties/list-append`, { distinct_id: 'c3', $append: { l: 'a' } });
    await call('POST', `${P}/properties/list-remove`, { distinct_id: 'c3', $remove: { l: 'a' } });
    await call('POST', `${P}/properties/unset`, { distinct_id: 'c3', $unset: ['n'] });
    await call('POST', `${P}/properties/set`, { distinct_id: 'c3', $set: {} });
    await call('POST', `${P}/properties/batch`, { batch: [{ distinct_id: 'c3', action: { $set: { a: 1 }, $once: { b: 2 }, $add: { n: 1 }, $unset: ['z'] } }] });
    await call('GET', `/${WS}/live/subscriptions/preference?distinct_id=c3`);
    await call('GET', `/${WS}/live/subscriptions/preference`);
    await call('PUT', `/${WS}/live/subscriptions/preference?distinct_id=c3`, { user_preference: { all: { email: 'opted-out' } } });
    await call('POST', `/${WS}/suppressions`, { channel: 'sms', distinct_id: 'c3', description: 'asked' });
    await call('DELETE', `/${WS}/suppressions?distinct_id=c3`);
    await call('DELETE', `/${WS}/suppressions?_id=000000000000000000000000`);
    await call('POST', `/${WS}/live/event`, { event: 'order_shipped', distinct_id: 'c3' });
    await call('POST', `/${WS}/live/event/bulk`, { event: 'order_shipped', batch: [{ event: 'order_shipped', distinct_id: 'c3' }] });
    expect(exchanges.length).toBe(41);
    const problems: string[] = [];
    for (const x of exchanges) {
      const r = await checkExchange({ method: x.method, path: x.path, headers: x.headers, body: x.requestBody, status: x.status, responseBody: x.responseBody });
      // Requests that are wrong on purpose (to provoke a 400) fail request validation by design.
      const errs = [...(x.status < 400 ? r.requestErrors : []), ...r.responseErrors];
      if (errs.length > 0) problems.push(`${x.method} ${x.path} ${x.status}: ${errs.join('; ')}`);
    }
    expect(problems).toEqual([]);
  });
});
