/** Helpers for the incremental-plan and GitOps tests: temp git repositories and the CLI in-process. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { runMain, type CliRun } from '../support/cli.js';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A fresh repository with an identity and `main` as its branch. */
export async function gitRepo(prefix = 'fyno-inc-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'commit.gpgsign', 'false');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

export type { CliRun };

export const runCli = (argv: string[], env: Record<string, string | undefined>, cwd: string): Promise<CliRun> => runMain(argv, { cwd, env });

export const KEY = 'sk-incremental-test-3c9d2e1f';
export const WSID = 'FYINCTEST1';

/** An emulator with `seed` loaded and its request counters at zero. */
export async function startSeeded(seed: unknown, opts: Omit<EmulatorOptions, 'apiKey' | 'workspace'> = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ apiKey: KEY, workspace: WSID, propertyDelayMs: 0, ...opts });
  const res = await fetch(`${emu.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seed) });
  if (!res.ok) throw new Error(`seed refused: ${res.status} ${await res.text()}`);
  await fetch(`${emu.adminUrl}/stats/reset`, { method: 'POST' });
  return emu;
}

export function envFor(emu: { baseUrl: string }, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { FYNO_BASE_URL: emu.baseUrl, FYNO_API_KEY: KEY, FYNO_WSID: WSID, NO_COLOR: '1', ...extra };
}

/** Requests the emulator has served since the last reset: total, and GETs. */
export async function requestCounts(emu: RunningEmulator): Promise<{ total: number; reads: number; requests: Record<string, number> }> {
  const s = (await (await fetch(`${emu.adminUrl}/stats`)).json()) as { total: number; requests: Record<string, number> };
  const reads = Object.entries(s.requests).reduce((n, [k, v]) => (k.startsWith('GET ') ? n + v : n), 0);
  return { total: s.total, reads, requests: s.requests };
}

export async function resetCounts(emu: RunningEmulator): Promise<void> {
  await fetch(`${emu.adminUrl}/stats/reset`, { method: 'POST' });
}
