/**
 * The emulator as a faithful Fyno for any client (issue #15): clients written against the real
 * API — Fyno's own Node SDK, curl, a user's integration tests — must work on it unchanged.
 * Expectations come from the spec's text and examples (spec/fyno-api/fyno-notification-events-
 * openapi.yml), not from the emulator's earlier answers; requests are raw fetch calls.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { adminCall, rawCall, type RawOptions } from '../support/emulator-http.js';

const WS = 'FYCLIENTS';
const KEY = 'clients-key';
const P = `/${WS}/live/profiles`;
let em: RunningEmulator;

beforeAll(async () => {
  em = await startEmulator({ apiKey: KEY, workspace: WS, propertyDelayMs: 0 });
});
afterAll(async () => {
  await em.close();
});
afterEach(async () => {
  await adminCall(em.adminUrl, 'POST', 'reset');
});

const call = (method: string, path: string, o: RawOptions = {}) => rawCall(em.baseUrl, KEY, method, path, o);
const admin = (method: string, path: string, body?: unknown) => adminCall(em.adminUrl, method, path, body);

describe('trailing slashes (Fyno Node SDK sends POST …/profiles/)', () => {
  it('creates a profile with POST /profiles/ (201 "Profile created successfully")', async () => {
    expect(await call('POST', `${P}/`, { body: { distinct_id: 'sdk-1', name: 'SDK' } })).toMatchObject({
      status: 201,
      body: { _message: 'Profile created successfully', status: 'ok' },
    });
    expect((await call('GET', `${P}/sdk-1`)).body).toMatchObject({ distinct_id: 'sdk-1', name: 'SDK' });
  });

  it('accepts a trailing slash on every route and counts it under the same template', async () => {
    await call('POST', P, { body: { distinct_id: 'u1', channel: { email: 'u1@x.io' } } });
    await admin('POST', 'stats/reset');
    expect((await call('GET', `${P}/u1/`)).status).toBe(200);
    expect((await call('PUT', `${P}/u1/`, { body: { name: 'N' } })).body).toMatchObject({ _message: '1 Record(s) updated successfully' });
    expect((await call('PATCH', `${P}/u1/channel/`, { body: { channel: { sms: '+14155550100' } } })).body).toMatchObject({
      _message: 'Channel has been modified successfully',
    });
    expect((await call('POST', `${P}/u1/channel/delete/`, { body: { channel: ['sms'] } })).status).toBe(200);
    expect((await call('POST', `${P}/properties/set/`, { body: { distinct_id: 'u1', $set: { a: 1 } } })).status).toBe(202);
    expect((await call('POST', `${P}/properties/batch/`, { body: { batch: [{ distinct_id: 'u1', action: { $set: { b: 2 } } }] } })).status).toBe(202);
    expect((await call('GET', `/${WS}/live/subscriptions/preference/?distinct_id=u1`)).status).toBe(200);
    expect((await call('POST', `/${WS}/live/subscriptions/list/SXXXXXXXXX/user/`, { body: { distinct_id: 'u1', channel: 'sms', status: 'opted-out' } })).status).toBe(200);
    expect((await call('POST', `/${WS}/suppressions/`, { body: { channel: 'email', destination: 'x@y.io' } })).status).toBe(200);
    expect((await call('GET', `/${WS}/suppressions/`)).status).toBe(200);
    expect((await call('POST', `/${WS}/live/event/`, { body: { event: 'e', distinct_id: 'u1' } })).status).toBe(202);
    expect((await call('PATCH', `${P}/u1/merge/u2/`)).status).toBe(200);
    expect((await call('POST', `${P}/delete/`, { body: { distinct_id: ['u2'] } })).body).toMatchObject({ _message: '1 User(s) deleted successfully' });
    const stats = (await admin('GET', 'stats')).body;
    expect(stats.requests['<unmatched>']).toBeUndefined();
    expect(Object.keys(stats.requests).filter((k) => k.endsWith('<unmatched>'))).toEqual([]);
    expect(stats.requests['GET /{WSID}/{version}/profiles/{distinct_id}']).toBe(1);
  });

  it('still answers 404 for a path that is not a route, with or without the slash', async () => {
    expect((await call('GET', `${P}/`)).status).toBe(404);
    expect((await call('GET', `${P}/u1/nothing/`)).status).toBe(404);
    expect((await call('GET', `${P}/u1//`)).status).toBe(404);
  });
});

describe('channel delete of push or in-app tokens alone (prose: "Use the push and inapp keys … to delete specific tokens")', () => {
  const seedTokens = () =>
    call('POST', P, { body: { distinct_id: 't', channel: { email: 't@x.io', push: [{ token: 'P1' }, { token: 'P2' }], inapp: [{ token: 'I1' }] } } });

  it('deletes push tokens from {"push": [...]} without inapp', async () => {
    await seedTokens();
    expect(await call('POST', `${P}/t/channel/delete`, { body: { push: ['P1'] } })).toMatchObject({
      status: 200,
      body: { _message: 'Channel has been modified successfully', status: 'ok' },
    });
    expect((await call('GET', `${P}/t`)).body.channel).toEqual({ email: 't@x.io', push: [{ token: 'P2', status: 1 }], inapp: [{ token: 'I1', status: 1 }] });
  });

  it('deletes in-app tokens from {"inapp": [...]} without push', async () => {
    await seedTokens();
    expect((await call('POST', `${P}/t/channel/delete`, { body: { inapp: ['I1'] } })).status).toBe(200);
    expect((await call('GET', `${P}/t`)).body.channel).toEqual({ email: 't@x.io', push: [{ token: 'P1', status: 1 }, { token: 'P2', status: 1 }] });
  });

  it('still takes the schema form with both arrays, and refuses a non-array or the two options mixed', async () => {
    await seedTokens();
    expect((await call('POST', `${P}/t/channel/delete`, { body: { push: ['P2'], inapp: [] } })).status).toBe(200);
    expect(await call('POST', `${P}/t/channel/delete`, { body: { push: 'P1' } })).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await call('POST', `${P}/t/channel/delete`, { body: { push: ['P1'], channel: ['email'] } })).toMatchObject({ status: 400, body: { status: 'error' } });
    // "Unable to delete channel since the channel does not exist" (DistinctIDOrChannelDataDoesNotExist)
    expect(await call('POST', `${P}/t/channel/delete`, { body: { inapp: ['nope'] } })).toMatchObject({
      status: 400,
      body: { _message: 'Unable to delete channel since the channel does not exist', status: 'error' },
    });
  });
});

describe('bodies: content type and documented limits', () => {
  const fyError = { status: 'error', _message: expect.any(String) };

  it('refuses a non-JSON content type with 400 in Fyno\'s error shape, and changes nothing', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const r = await call('POST', P, { body: '{"distinct_id":"plain"}', headers: { 'content-type': type } });
      expect(r, type).toMatchObject({ status: 400, body: { ...fyError, _message: expect.stringContaining('application/json') } });
      expect(r.contentType).toMatch(/^application\/json/);
    }
    expect((await call('GET', `${P}/plain`)).status).toBe(400);
    expect((await admin('GET', 'stats')).body.writes).toEqual({});
  });

  it('takes application/json with parameters, +json types, and a body without a content type', async () => {
    expect((await call('POST', P, { body: '{"distinct_id":"j1"}', headers: { 'content-type': 'application/json; charset=utf-8' } })).status).toBe(201);
    expect((await call('POST', P, { body: '{"distinct_id":"j2"}', headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(201);
    const res = await fetch(`${em.baseUrl}${P}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: new TextEncoder().encode('{"distinct_id":"j3"}') });
    expect(res.status).toBe(201);
  });

  it('refuses a profile name over 255 characters (a 10 MB name too) and takes one of 255', async () => {
    expect((await call('POST', P, { body: { distinct_id: 'n255', name: 'n'.repeat(255) } })).status).toBe(201);
    expect(await call('POST', P, { body: { distinct_id: 'n256', name: 'n'.repeat(256) } })).toMatchObject({ status: 400, body: fyError });
    expect(await call('POST', P, { body: { distinct_id: 'n10m', name: 'n'.repeat(10 * 1024 * 1024) } })).toMatchObject({ status: 400, body: fyError });
    expect(await call('PUT', `${P}/n255`, { body: { name: 'm'.repeat(256) } })).toMatchObject({ status: 400, body: fyError });
    expect((await call('GET', `${P}/n255`)).body.name).toBe('n'.repeat(255));
    expect((await call('GET', `${P}/n256`)).status).toBe(400);
  });

  it('refuses a distinct_id or a channel destination over 255 characters', async () => {
    const long = 'd'.repeat(256);
    expect(await call('POST', P, { body: { distinct_id: long } })).toMatchObject({ status: 400, body: fyError });
    expect(await call('POST', P, { body: { distinct_id: 'c', channel: { email: `${'e'.repeat(251)}@x.io` } } })).toMatchObject({ status: 400, body: fyError });
    expect(await call('POST', `${P}/properties/set`, { body: { distinct_id: long, $set: { a: 1 } } })).toMatchObject({ status: 400, body: fyError });
    expect((await admin('GET', 'state')).body.spaces.flatMap((s: { profiles: unknown[] }) => s.profiles)).toEqual([]);
  });

  it('accepts a string property over 255 characters but does not store it ("a maximum of 255 characters"; wrong values are ignored)', async () => {
    await call('POST', P, { body: { distinct_id: 'p' } });
    expect((await call('POST', `${P}/properties/set`, { body: { distinct_id: 'p', $set: { ok: 's'.repeat(255), long: 's'.repeat(256) } } })).status).toBe(202);
    expect((await call('GET', `${P}/p`)).body.properties).toEqual({ ok: 's'.repeat(255) });
  });
});
