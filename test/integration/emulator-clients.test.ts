/**
 * The emulator as a faithful Fyno for any client (issue #15): clients written against the real
 * API — Fyno's own Node SDK, curl, a user's integration tests — must work on it unchanged.
 * Expectations come from the spec's text and examples (spec/fyno-api/fyno-notification-events-
 * openapi.yml), not from the emulator's earlier answers; requests are raw fetch calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Exchange, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { adminCall, rawCall, type RawOptions } from '../support/emulator-http.js';
import { checkExchange } from '../support/openapi.js';

const WS = 'FYCLIENTS';
const KEY = 'clients-key';
const P = `/${WS}/live/profiles`;
let em: RunningEmulator;
const exchanges: Exchange[] = [];

beforeAll(async () => {
  em = await startEmulator({ apiKey: KEY, workspace: WS, propertyDelayMs: 0, onExchange: (x) => exchanges.push(x) });
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

  it('reads a profile with a JSON body on GET, as the SDK\'s getProfile sends its payload', async () => {
    await call('POST', `${P}/`, { body: { distinct_id: 'sdk-2' } });
    const url = new URL(`${em.baseUrl}${P}/sdk-2`);
    const payload = JSON.stringify({ distinct_id: 'sdk-2' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'GET', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(payload);
    });
    expect(status).toBe(200);
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

describe('events answer per channel (EventRequestAccepted.response: inline_response_202_response)', () => {
  const E = `/${WS}/live/event`;
  const entry = (destination: string) => ({ status: 'ok', destination, msg_id: expect.stringMatching(/^[0-9a-f-]{36}:[0-9A-F]{4}$/) });

  it('answers one {status, destination, msg_id} entry per channel of `to` (Option 1)', async () => {
    const r = await call('POST', E, { body: { event: 'event_name', to: { email: 'abcde@fghi.com', slack: 'CXXXXXXXXXX' }, data: { placeholder_key_1: 'v' } } });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      event: 'event_name',
      received_time: expect.any(String),
      request_id: expect.any(String),
      response: { email: entry('abcde@fghi.com'), slack: entry('CXXXXXXXXXX') },
    });
    expect(r.body.response.email.msg_id.startsWith(`${r.body.request_id}:`)).toBe(true);
    expect(r.body.response.email.msg_id).not.toBe(r.body.response.slack.msg_id);
  });

  it('takes the profile\'s destinations for a distinct_id (Option 2), `to` taking precedence (Option 3)', async () => {
    await call('POST', P, { body: { distinct_id: 'ev', channel: { email: 'ev@x.io', sms: '+919879000001', push: [{ token: 'PT1' }, { token: 'PT0', status: 0 }] } } });
    expect((await call('POST', E, { body: { event: 'e', distinct_id: 'ev' } })).body.response).toEqual({
      email: entry('ev@x.io'),
      sms: entry('+919879000001'),
      push: entry('PT1'),
    });
    expect((await call('POST', E, { body: { event: 'e', distinct_id: 'ev', to: { email: 'other@x.io' } } })).body.response).toEqual({
      email: entry('other@x.io'),
      sms: entry('+919879000001'),
      push: entry('PT1'),
    });
    // status 0: "the user in inactive and should not receive any notifications"
    await call('PUT', `${P}/ev`, { body: { status: 0 } });
    expect((await call('POST', E, { body: { event: 'e', distinct_id: 'ev' } })).body.response).toEqual({});
  });

  it('/event/bulk items carry seq, their own request_id and their channel entries', async () => {
    await call('POST', P, { body: { distinct_id: 'b1', channel: { email: 'b1@x.io' } } });
    const r = await call('POST', `${E}/bulk`, {
      body: { event: 'event_name', batch: [{ event: 'event_name', distinct_id: 'b1' }, { event: 'event_name', to: { sms: '+919879000002' } }] },
    });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      event: 'event_name',
      received_time: expect.any(Number),
      request_id: expect.any(String),
      response: [
        { seq: 1, request_id: expect.any(String), email: entry('b1@x.io') },
        { seq: 2, request_id: expect.any(String), sms: entry('+919879000002') },
      ],
    });
    const ids = [r.body.request_id, ...r.body.response.map((x: { request_id: string }) => x.request_id)];
    expect(new Set(ids).size).toBe(3);
  });

  it('once events are declared, others get 400 EventNameDoesNotExist; a declared event sends only its channels', async () => {
    expect((await call('POST', E, { body: { event: 'anything', to: { email: 'a@x.io' } } })).status).toBe(202);
    expect((await admin('POST', 'seed', { workspace: WS, events: ['order_shipped', { name: 'otp_login', channels: ['sms'] }] })).status).toBe(200);
    expect(await call('POST', E, { body: { event: 'anything', to: { email: 'a@x.io' } } })).toEqual(
      expect.objectContaining({ status: 400, body: { _message: "The notification event name 'anything' is invalid or does not exists on prod", status: 'error' } }),
    );
    expect(await call('POST', `${E}/bulk`, { body: { event: 'anything', batch: [{ event: 'anything', to: { email: 'a@x.io' } }] } })).toMatchObject({
      status: 400,
      body: { _message: "The notification event name 'anything' is invalid or does not exists on prod" },
    });
    expect((await call('POST', E, { body: { event: 'order_shipped', to: { email: 'a@x.io' } } })).status).toBe(202);
    expect((await call('POST', E, { body: { event: 'otp_login', to: { email: 'a@x.io', sms: '+919879000003' } } })).body.response).toEqual({ sms: entry('+919879000003') });
    // declared per version: the test version still has none declared
    expect((await call('POST', `/${WS}/test/event`, { body: { event: 'anything', to: { email: 'a@x.io' } } })).status).toBe(202);
    await admin('POST', 'seed', { workspace: WS, env: 'test', events: [] });
    expect((await call('POST', `/${WS}/test/event`, { body: { event: 'anything', to: { email: 'a@x.io' } } })).body._message).toBe(
      "The notification event name 'anything' is invalid or does not exists on test",
    );
  });

  it('records what would have been sent (admin GET /_emulator/sent, filterable)', async () => {
    const fired = await call('POST', E, { body: { event: 'welcome', distinct_id: 'w', to: { email: 'w@x.io', sms: '+919879000004' }, data: { name: 'W' } } });
    await call('POST', E, { body: { event: 'other', to: { email: 'o@x.io' } } });
    const all = (await admin('GET', `sent?workspace=${WS}`)).body.sent;
    expect(all).toHaveLength(3);
    const welcome = (await admin('GET', `sent?workspace=${WS}&event=welcome`)).body.sent;
    expect(welcome).toEqual([
      { request_id: fired.body.request_id, msg_id: fired.body.response.sms.msg_id, event: 'welcome', channel: 'sms', destination: '+919879000004', distinct_id: 'w', data: { name: 'W' }, sent_at: expect.any(String) },
      { request_id: fired.body.request_id, msg_id: fired.body.response.email.msg_id, event: 'welcome', channel: 'email', destination: 'w@x.io', distinct_id: 'w', data: { name: 'W' }, sent_at: expect.any(String) },
    ]);
    expect((await admin('GET', `sent?workspace=${WS}&channel=email&destination=o@x.io`)).body.sent.map((m: { event: string }) => m.event)).toEqual(['other']);
  });
});

describe('Fyno Verify: POST /verify/validate', () => {
  const V = `/${WS}/live/verify/validate`;
  const success = { status: 200, body: { _message: 'OTP successfully validated.', status: 'ok' } };

  it('validates an OTP a fired event carried in data.otp, by destination, once', async () => {
    await call('POST', `/${WS}/live/event`, { body: { event: 'otp', to: { sms: '+919879000005' }, data: { otp: 4321 } } });
    expect(await call('POST', `${V}?destination=${encodeURIComponent('+919879000005')}&otp=1111`)).toMatchObject({
      status: 400,
      body: { _message: 'user entered the wrong OTP', status: 'error' },
    });
    expect(await call('POST', `${V}?destination=${encodeURIComponent('+919879000005')}&otp=4321`)).toMatchObject(success);
    expect((await call('POST', `${V}?destination=${encodeURIComponent('+919879000005')}&otp=4321`)).status).toBe(400);
  });

  it('validates by the event\'s request_id, and OTPs issued through the admin API', async () => {
    const fired = await call('POST', `/${WS}/live/event`, { body: { event: 'otp', to: { email: 'v@x.io' }, data: { otp: '9876' } } });
    expect(await call('POST', `${V}?request_id=${fired.body.request_id}&otp=9876`)).toMatchObject(success);
    await admin('POST', 'seed', { workspace: WS, otps: [{ destination: 'a@x.io', otp: '1234' }] });
    expect(await call('POST', `${V}?destination=a@x.io&otp=1234`)).toMatchObject(success);
  });

  it('answers 400 without otp or a destination/request_id, and 401 with a wrong key', async () => {
    expect(await call('POST', `${V}?destination=a@x.io`)).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await call('POST', `${V}?otp=1234`)).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await call('POST', `${V}?destination=nobody@x.io&otp=1234`)).toMatchObject({ status: 400, body: { status: 'error' } });
    expect(await rawCall(em.baseUrl, 'wrong', 'POST', `${V}?destination=a@x.io&otp=1234`)).toMatchObject({ status: 401, body: { _message: 'Invalid API details', status: 'error' } });
  });
});

describe('events, sent messages and OTPs persist', () => {
  it('survive a restart on the same state file (replayed from the WAL)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fyno-ev-'));
    try {
      const stateFile = path.join(dir, 'state.json');
      const a = await startEmulator({ apiKey: KEY, workspace: WS, stateFile });
      await adminCall(a.adminUrl, 'POST', 'seed', { events: ['otp'] });
      await rawCall(a.baseUrl, KEY, 'POST', `/${WS}/live/event`, { body: { event: 'otp', to: { email: 'p@x.io' }, data: { otp: '5555' } } });
      await a.close();
      const b = await startEmulator({ apiKey: KEY, workspace: WS, stateFile });
      try {
        expect((await rawCall(b.baseUrl, KEY, 'POST', `/${WS}/live/event`, { body: { event: 'other', to: { email: 'p@x.io' } } })).status).toBe(400);
        expect((await adminCall(b.adminUrl, 'GET', 'sent')).body.sent).toHaveLength(1);
        expect((await rawCall(b.baseUrl, KEY, 'POST', `/${WS}/live/verify/validate?destination=p@x.io&otp=5555`)).status).toBe(200);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('spec contradictions the emulator resolves (README, "Spec contradictions")', () => {
  /** The spec's own validator refuses this request body, yet the prose documents it. */
  async function specRefuses(path: string, body: unknown): Promise<void> {
    const r = await checkExchange({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body, status: 400, responseBody: { _message: 'x', status: 'error' } });
    expect(r.requestErrors.join('; '), JSON.stringify(body)).toMatch(/oneOf|required property/);
  }

  it('event with both distinct_id and to ("Option 3"): matches every branch of version_event_body.oneOf; accepted', async () => {
    const body = { event: 'e', distinct_id: 'u', to: { email: 'a@x.io' } };
    await specRefuses(`/${WS}/live/event`, body);
    expect((await call('POST', `/${WS}/live/event`, { body })).status).toBe(202);
  });

  it('bulk item without its own event (the schema requires one it does not list) or with both targets; accepted', async () => {
    for (const item of [{ distinct_id: 'u' }, { event: 'e', distinct_id: 'u', to: { sms: '+919879000006' } }]) {
      const body = { event: 'e', batch: [item] };
      await specRefuses(`/${WS}/live/event/bulk`, body);
      expect((await call('POST', `/${WS}/live/event/bulk`, { body })).status).toBe(202);
    }
  });

  it('channel delete with push alone: the schema requires both arrays, the prose and Fyno\'s SDK send one; accepted', async () => {
    await call('POST', P, { body: { distinct_id: 'q', channel: { push: [{ token: 'Q1' }] } } });
    await specRefuses(`${P}/q/channel/delete`, { push: ['Q1'] });
    expect((await call('POST', `${P}/q/channel/delete`, { body: { push: ['Q1'] } })).status).toBe(200);
  });
});

describe('conformance of every answer above', () => {
  it('validates against the OpenAPI file (status, body), except the 404s of paths that are no route', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const x of exchanges) {
      if (x.status === 404) continue;
      const r = await checkExchange({ method: x.method, path: x.path.replace(/\/(?=\?|$)/, ''), headers: x.headers, body: x.requestBody, status: x.status, responseBody: x.responseBody });
      checked += 1;
      if (r.responseErrors.length > 0) problems.push(`${x.method} ${x.path} ${x.status}: ${r.responseErrors.join('; ')}`);
    }
    expect(checked).toBeGreaterThan(60);
    expect(problems).toEqual([]);
  });
});
