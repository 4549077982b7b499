import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/fyno/emulator/index.js';

const P = '/FYEMULATOR/live/profiles';
const H = { authorization: 'Bearer emulator-key', 'content-type': 'application/json' };
const running: RunningEmulator[] = [];

async function start(o: EmulatorOptions = {}): Promise<RunningEmulator> {
  const em = await startEmulator({ propertyDelayMs: 0, ...o });
  running.push(em);
  return em;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

/** Status, or 'network' when the connection ended without an answer. */
async function attempt(em: RunningEmulator, method: string, path: string, body?: unknown, timeoutMs = 2_000): Promise<number | 'network'> {
  try {
    const res = await fetch(`${em.baseUrl}${path}`, {
      method,
      headers: H,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.text();
    return res.status;
  } catch {
    return 'network';
  }
}

async function adminPost(em: RunningEmulator, path: string, body: unknown): Promise<Response> {
  return fetch(`${em.adminUrl}/${path}`, { method: 'POST', body: JSON.stringify(body) });
}

describe('fault injection', () => {
  it('adds latency to every API request', async () => {
    const em = await start({ latencyMs: 120 });
    const t0 = performance.now();
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('rate-limits with 429, Retry-After and Fyno error shape, then recovers', async () => {
    const em = await start({ rateLimit: { rps: 2, burst: 2 } });
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
    const res = await fetch(`${em.baseUrl}${P}/x`, { headers: H });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ status: 'error', _message: expect.any(String) });
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
    const stats = (await (await fetch(`${em.adminUrl}/stats`)).json()) as { faults: { rateLimited: number }; statuses: Record<string, number> };
    expect(stats.faults.rateLimited).toBe(1);
    expect(stats.statuses['429']).toBe(1);
  });

  it('"lost" applies the write and then drops the connection', async () => {
    const em = await start();
    await adminPost(em, 'faults', { failNext: { count: 1, kind: 'lost' } });
    expect(await attempt(em, 'POST', P, { distinct_id: 'lost-1' })).toBe('network');
    expect(await attempt(em, 'GET', `${P}/lost-1`)).toBe(200);
    const stats = (await (await fetch(`${em.adminUrl}/stats`)).json()) as { writes: Record<string, number>; faults: { lost: number } };
    expect(stats.writes['POST /{WSID}/{version}/profiles']).toBe(1);
    expect(stats.faults.lost).toBe(1);
  });

  it('"error", "hangup" and "timeout" do not apply the write', async () => {
    const em = await start();
    em.faults.failNext(1, 'error');
    const s = await attempt(em, 'POST', P, { distinct_id: 'e' });
    expect([500, 502, 503]).toContain(s);
    em.faults.failNext(1, 'hangup');
    expect(await attempt(em, 'POST', P, { distinct_id: 'h' })).toBe('network');
    em.faults.failNext(1, 'timeout');
    expect(await attempt(em, 'POST', P, { distinct_id: 't' }, 300)).toBe('network');
    for (const id of ['e', 'h', 't']) expect(await attempt(em, 'GET', `${P}/${id}`)).toBe(400);
  });

  it('answers a one-shot error with the status asked for, then recovers', async () => {
    const em = await start();
    const set = await adminPost(em, 'faults', { failNext: { count: 2, kind: 'error', status: 503 } });
    expect(set.status).toBe(200);
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(503);
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(503);
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
    expect((await adminPost(em, 'faults', { failNext: { count: 1, kind: 'error', status: 200 } })).status).toBe(400);
  });

  it('drops a held "timeout" connection after timeoutHoldMs', async () => {
    const em = await start({ timeoutHoldMs: 150 });
    em.faults.failNext(1, 'timeout');
    const t0 = performance.now();
    expect(await attempt(em, 'POST', P, { distinct_id: 'held' }, 5_000)).toBe('network');
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(2_000);
    expect(await attempt(em, 'GET', `${P}/held`)).toBe(400);
  });

  it('injects the same faults for the same seed and request order', async () => {
    const run = async () => {
      const em = await start({ failRate: 0.3, failKinds: ['error', 'hangup', 'lost'], faultSeed: 42 });
      const out: (number | 'network')[] = [];
      for (let i = 0; i < 30; i += 1) out.push(await attempt(em, 'POST', P, { distinct_id: `u${i}` }));
      return out;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a.filter((x) => x !== 201).length).toBeGreaterThan(3);
    expect(a.filter((x) => x === 201).length).toBeGreaterThan(10);
  });

  it('changes knobs at runtime through POST /_emulator/faults and rejects bad values', async () => {
    const em = await start();
    const res = await adminPost(em, 'faults', { latencyMs: 5, failRate: 0.5, rateLimit: { rps: 100 } });
    expect(await res.json()).toMatchObject({ status: 'ok', latencyMs: 5, failRate: 0.5, rateLimit: { rps: 100 } });
    const bad = await adminPost(em, 'faults', { failRate: 2 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { _message: string })._message).toBe('failRate must be a number from 0 to 1');
    await adminPost(em, 'faults', { failRate: 0, rateLimit: null, latencyMs: 0 });
    expect(await attempt(em, 'GET', `${P}/x`)).toBe(400);
  });
});
