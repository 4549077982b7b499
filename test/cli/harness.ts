/**
 * Drive the real CLI (`main(argv, io)`) against a real emulator over HTTP, with captured output.
 * Also spawns the built CLI (`dist/cli/bin.js`) for signal tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../../src/cli/output.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { runMain, type CliRun } from '../support/cli.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/cli/bin.js');
export const EXAMPLE = path.join(ROOT, 'examples/basic');
export const KEY = 'sk-cli-test-5f1e9a7c3b';
export const WSID = 'FYCLITEST1';

export type { CliRun };

export type StartOptions = Omit<NonNullable<EmulatorOptions>, 'apiKey' | 'workspace'>;

export async function startSeeded(seed?: unknown, opts: StartOptions = {}): Promise<RunningEmulator> {
  const emu = await startEmulator({ apiKey: KEY, workspace: WSID, propertyDelayMs: 0, ...opts });
  if (seed !== undefined) {
    const res = await fetch(`${emu.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seed) });
    if (!res.ok) throw new Error(`seed refused: ${res.status} ${await res.text()}`);
  }
  await fetch(`${emu.adminUrl}/stats/reset`, { method: 'POST' });
  return emu;
}

export function envFor(emu: { baseUrl: string } | null, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    FYNO_BASE_URL: emu?.baseUrl,
    FYNO_API_KEY: KEY,
    FYNO_WSID: WSID,
    NO_COLOR: '1',
    ...extra,
  };
}

export function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  o: { cwd?: string; confirm?: CliIO['confirm']; signal?: AbortSignal } = {},
): Promise<CliRun> {
  return runMain(argv, { ...o, cwd: o.cwd ?? ROOT, env });
}

/** Total `/v1` requests and writes the emulator has seen. */
export async function stats(emu: RunningEmulator): Promise<{ total: number; writes: number; requests: Record<string, number> }> {
  const s = (await (await fetch(`${emu.adminUrl}/stats`)).json()) as { total: number; writes: Record<string, number>; requests: Record<string, number> };
  return { total: s.total, writes: Object.values(s.writes).reduce((a, b) => a + b, 0), requests: s.requests };
}

export async function resetStats(emu: RunningEmulator): Promise<void> {
  await fetch(`${emu.adminUrl}/stats/reset`, { method: 'POST' });
}

export async function tempDir(prefix = 'fyno-cli-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A copy of examples/basic in a temp dir (tests may edit it). */
export async function copyExample(dir: string): Promise<string> {
  const dest = path.join(dir, 'basic');
  await cp(EXAMPLE, dest, { recursive: true });
  return dest;
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(argv: string[], env: Record<string, string | undefined>, cwd: string): Spawned {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd,
    env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 5): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
