/**
 * Issue #13 item 5, over real HTTP (HttpFynoClient → emulator): a kept push token whose
 * integration_id or status changes is updated in place with one `PATCH …/channel`, never deleted
 * and inserted again (a crash between the two would lose it), and verification sees the write
 * at once instead of waiting out its timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { startEmulator, type Exchange, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import type { DesiredState } from '../../src/desired/types.js';
import { desired, profile } from '../unit/plan-builders.js';
import { emulatorAdmin, planFor, replanFor } from './apply-support.js';

const KEY = 'token-update-key';
let emu: RunningEmulator;
const exchanges: Exchange[] = [];

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, onExchange: (x) => void exchanges.push(x) });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  await emulatorAdmin(emu.adminUrl, '/reset', {});
  exchanges.length = 0;
});

async function seed(profiles: unknown[]): Promise<void> {
  await emulatorAdmin(emu.adminUrl, '/seed', { profiles });
}

function client(): HttpFynoClient {
  return new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: emu.workspace, env: 'live' }, apiKey: KEY, timeoutMs: 2000 });
}

const A = 'ExponentPushToken[aaaaaaaaaaaa]';
const B = 'ExponentPushToken[bbbbbbbbbbbb]';
const C = 'ExponentPushToken[cccccccccccc]';

async function applyOnce(d: DesiredState) {
  const api = client();
  const plan = await planFor(api, d);
  exchanges.length = 0;
  const summary = await applyPlan(plan, { api, replan: replanFor(d) }, { concurrency: 2, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 3000, intervalMs: 50 } });
  return { plan, summary, api };
}

describe('a kept token whose integration_id or status changes (issue #13 item 5)', () => {
  it('live [A, B], desired [B with IPUSH, C]: B is updated in place, never deleted; verification converges at once', async () => {
    await seed([{ distinct_id: 'u1', channel: { push: [{ token: A }, { token: B }] } }]);
    const d = desired(profile('u1', { channels: { push: [{ token: B, integration_id: 'IPUSH' }, { token: C }] } }));
    const { plan, summary, api } = await applyOnce(d);

    expect(plan.operations.map((o) => o.type)).toEqual(['channel.delete', 'channel.set', 'channel.set']);
    expect(summary.failures).toEqual([]);
    expect(summary.divergences).toEqual([]);
    expect(summary.not_converged).toBe(0);

    // No request ever removed B: one token delete naming A only, one PATCH carrying B and C.
    const writes = exchanges.filter((x) => x.method !== 'GET');
    expect(writes.map((x) => `${x.method} ${x.path}`)).toEqual(['POST /FYEMULATOR/live/profiles/u1/channel/delete', 'PATCH /FYEMULATOR/live/profiles/u1/channel']);
    expect(writes[0]!.requestBody).toEqual({ push: [A], inapp: [] });
    expect(writes[1]!.requestBody).toEqual({ channel: { push: [{ token: B, integration_id: 'IPUSH', status: 1 }, { token: C }] } });
    // Verification does not wait for it: channel writes are answered synchronously and are not
    // read again (docs/requests.md); the profile read below shows what was written.
    expect(exchanges.filter((x) => x.method === 'GET').length).toBe(0);

    const p = await api.getProfile('u1');
    expect(p!.channels.push).toEqual([
      { token: B, integration_id: 'IPUSH', status: 1 },
      { token: C, status: 1 },
    ]);
    expect((await planFor(api, d)).operations).toEqual([]);
  });

  it('an inactive token with an integration becomes active for all integrations, in place', async () => {
    await seed([{ distinct_id: 'u2', channel: { push: [{ token: B, integration_id: 'IOLD', status: 0 }] } }]);
    const d = desired(profile('u2', { channels: { push: [{ token: B }] } }));
    const { summary, api } = await applyOnce(d);
    expect(summary.failures).toEqual([]);
    expect(summary.not_converged).toBe(0);
    expect(exchanges.filter((x) => x.method !== 'GET').map((x) => `${x.method} ${x.path}`)).toEqual(['PATCH /FYEMULATOR/live/profiles/u2/channel']);
    expect((await api.getProfile('u2'))!.channels.push).toEqual([{ token: B, status: 1 }]);
    expect((await planFor(api, d)).operations).toEqual([]);
  });

  it('a token stored twice is cleaned up by delete + insert, and verification still converges at once', async () => {
    await seed([{ distinct_id: 'u3', channel: { push: [{ token: B }] } }]);
    // The API never stores a token twice through its own endpoints; put the duplicate in place directly.
    const space = emu.store.space(emu.workspace, 'live');
    space.profiles.get('u3')!.channels.push!.push({ token: B, integration_id: 'IOTHER' });
    const d = desired(profile('u3', { channels: { push: [{ token: B }] } }));
    const { summary, api } = await applyOnce(d);
    expect(summary.failures).toEqual([]);
    expect(summary.divergences).toEqual([]);
    expect(exchanges.filter((x) => x.method === 'GET').length).toBe(0);
    expect((await api.getProfile('u3'))!.channels.push).toEqual([{ token: B, status: 1 }]);
  });
});
