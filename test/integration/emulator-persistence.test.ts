import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmulatorEngine } from '../../src/fyno/emulator/engine.js';
import { StateFile } from '../../src/fyno/emulator/persistence.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'src/cli/bin.ts');
const H = { authorization: 'Bearer emulator-key', 'content-type': 'application/json' };
const P = '/FYEMULATOR/live/profiles';

let dir: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fyno-emu-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Start `fyno-sync emulator` as a child process; resolves with its base URL (first stdout line). */
async function spawnEmulator(state: string, extra: string[] = []): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'emulator', '--port', '0', '--state', state, ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const rl = createInterface({ input: child.stdout! });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { child, baseUrl };
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function post(baseUrl: string, p: string, body: unknown, method = 'POST'): Promise<number> {
  const res = await fetch(`${baseUrl}${p}`, { method, headers: H, body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

async function get(baseUrl: string, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${P}/${encodeURIComponent(id)}`, { headers: H });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('persistence across kill -9', () => {
  it('keeps every acknowledged write: profiles, channels, properties, merge, delete', async () => {
    const state = path.join(dir, 'state.json');
    const a = await spawnEmulator(state, ['--property-delay', '0']);
    expect(await post(a.baseUrl, P, { distinct_id: 'p1', name: 'One', channel: { email: 'one@x.io' } })).toBe(201);
    expect(await post(a.baseUrl, P, { distinct_id: 'p2', name: 'Two' })).toBe(201);
    expect(await post(a.baseUrl, P, { distinct_id: 'p3' })).toBe(201);
    expect(await post(a.baseUrl, `${P}/p1/channel`, { channel: { push: [{ token: 'T1' }] } }, 'PATCH')).toBe(200);
    expect(await post(a.baseUrl, `${P}/properties/set`, { distinct_id: 'p1', $set: { plan: 'pro', ltv: 5 } })).toBe(202);
    expect(await post(a.baseUrl, `${P}/p2/merge/p9`, {}, 'PATCH')).toBe(200);
    expect(await post(a.baseUrl, `${P}/delete`, { distinct_id: ['p3'] })).toBe(200);
    const before = await get(a.baseUrl, 'p1');
    await killHard(a.child);

    const b = await spawnEmulator(state);
    const after = await get(b.baseUrl, 'p1');
    expect(after).toEqual(before);
    expect(after.body).toMatchObject({ channel: { email: 'one@x.io', push: [{ token: 'T1', status: 1 }] }, properties: { plan: 'pro', ltv: 5 } });
    expect((await get(b.baseUrl, 'p9')).body.name).toBe('Two');
    expect((await get(b.baseUrl, 'p2')).status).toBe(400);
    expect((await get(b.baseUrl, 'p3')).status).toBe(400);
    // New ids continue after the replayed ones: no profile_id is reused.
    expect(await post(b.baseUrl, P, { distinct_id: 'p4' })).toBe(201);
    const ids = await Promise.all(['p1', 'p9', 'p4'].map(async (id) => (await get(b.baseUrl, id)).body.profile_id));
    expect(new Set(ids).size).toBe(3);
  });

  it('keeps the suppression list, seeded expiry included, and honours expiry_ts on read after restart', async () => {
    const state = path.join(dir, 'state.json');
    const a = await spawnEmulator(state);
    const future = '2999-01-01T00:00:00.000Z';
    const seed = { suppressions: [{ channel: 'email', destination: 'a@example.com', expiry_ts: future }, { channel: 'sms', destination: '+14155550100', expiry_ts: '2001-01-01T00:00:00.000Z' }] };
    const seeded = await fetch(a.baseUrl.replace('/v1', '/_emulator/seed'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seed) });
    expect(seeded.status).toBe(200);
    expect(await post(a.baseUrl, '/FYEMULATOR/suppressions', { channel: 'sms', distinct_id: 'u1', description: 'DND' })).toBe(200);
    await killHard(a.child);
    const b = await spawnEmulator(state);
    const list = (await (await fetch(`${b.baseUrl}/FYEMULATOR/suppressions`, { headers: H })).json()) as Record<string, unknown>[];
    expect(list.map((r) => [r.channel, r.destination ?? r.distinct_id, r.expiry_ts ?? null])).toEqual([
      ['email', 'a@example.com', future],
      ['sms', 'u1', null],
    ]);
  });

  it('keeps every write that was answered while the process is killed mid-traffic', async () => {
    const state = path.join(dir, 'state.json');
    const a = await spawnEmulator(state);
    const acknowledged: string[] = [];
    const sends = Array.from({ length: 150 }, async (_, i) => {
      try {
        if ((await post(a.baseUrl, P, { distinct_id: `m${i}` })) === 201) {
          acknowledged.push(`m${i}`);
          if (acknowledged.length === 60) a.child.kill('SIGKILL');
        }
      } catch {
        // killed before answering: outcome unknown, nothing to check
      }
    });
    await Promise.all(sends);
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);
    const b = await spawnEmulator(state);
    const missing: string[] = [];
    for (const id of acknowledged) if ((await get(b.baseUrl, id)).status !== 200) missing.push(id);
    expect(missing).toEqual([]);
  });

  it('restores property requests accepted but not yet applied, and applies them after restart', async () => {
    const state = path.join(dir, 'state.json');
    const a = await spawnEmulator(state, ['--property-delay', '60000']);
    expect(await post(a.baseUrl, P, { distinct_id: 'q' })).toBe(201);
    expect(await post(a.baseUrl, `${P}/properties/set`, { distinct_id: 'q', $set: { tier: 'gold' } })).toBe(202);
    await killHard(a.child);
    const b = await spawnEmulator(state, ['--property-delay', '60000']);
    expect((await get(b.baseUrl, 'q')).body.properties).toEqual({});
    const flushed = (await (await fetch(b.baseUrl.replace('/v1', '/_emulator/flush'), { method: 'POST' })).json()) as { applied: number };
    expect(flushed.applied).toBe(1);
    expect((await get(b.baseUrl, 'q')).body.properties).toEqual({ tier: 'gold' });
  });
});

describe('StateFile', () => {
  it('replays the WAL on top of a snapshot and cuts a torn last line', async () => {
    const file = path.join(dir, 's.json');
    const sf = await StateFile.open(file);
    const eng = new EmulatorEngine({ store: sf.store, onJournal: (e) => sf.append(e) });
    const create = (id: string) => eng.handle({ method: 'POST', segments: ['FY', 'live', 'profiles'], query: {}, body: { distinct_id: id } });
    create('a');
    await sf.sync();
    await sf.snapshot();
    create('b');
    await sf.sync();
    // A crash mid-append leaves half a line; it was never acknowledged.
    appendFileSync(sf.walFile, '{"seq":99,"op":"api","t":"2024-');
    const again = await StateFile.open(file);
    expect([...again.store.space('FY', 'live').profiles.keys()]).toEqual(['a', 'b']);
    // The torn tail is gone, so new entries are readable after it.
    const eng2 = new EmulatorEngine({ store: again.store, onJournal: (e) => again.append(e) });
    eng2.handle({ method: 'POST', segments: ['FY', 'live', 'profiles'], query: {}, body: { distinct_id: 'c' } });
    await again.sync();
    const third = await StateFile.open(file);
    expect([...third.store.space('FY', 'live').profiles.keys()]).toEqual(['a', 'b', 'c']);
    await Promise.all([sf, again, third].map((s) => s.close().catch(() => undefined)));
  });
});

describe('fyno-sync emulator command', () => {
  it('prints the base URL first, then the exports, and exits 0 on SIGTERM after a final snapshot', async () => {
    const state = path.join(dir, 'cmd.json');
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'emulator', '--port', '0', '--state', state, '--workspace', 'FYCMD'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve) => {
      rl.on('line', (l) => {
        lines.push(l);
        if (lines.length === 4) resolve();
      });
    });
    expect(lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(lines.slice(1)).toEqual([`export FYNO_BASE_URL=${lines[0]}`, 'export FYNO_API_KEY=emulator-key', 'export FYNO_WSID=FYCMD']);
    const res = await fetch(`${lines[0]}/FYCMD/test/profiles`, { method: 'POST', headers: H, body: JSON.stringify({ distinct_id: 'z' }) });
    expect(res.status).toBe(201);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    const snap = JSON.parse(readFileSync(state, 'utf8')) as { state: { spaces: { env: string; profiles: { distinct_id: string }[] }[] } };
    expect(snap.state.spaces.find((s) => s.env === 'test')?.profiles.map((p) => p.distinct_id)).toEqual(['z']);
  });

  it('refuses an invalid flag value with one line and exit 1', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'emulator', '--fail-rate', '3'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain("--fail-rate must be a number from 0 to 1, got '3'");
  });
});
