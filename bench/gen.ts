/**
 * Deterministic data sets for the benchmarks: N desired profiles written as desired-state YAML
 * (sharded files) and the emulator seed that makes live Fyno hold the same profiles, except for
 * a chosen fraction that differ (one property changed) or are missing (to create).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadDesired } from '../src/desired/load.js';
import type { DesiredState } from '../src/desired/types.js';
import { benchEmulator, timed, type BenchEmulator } from './util.js';

export interface GenOptions {
  count: number;
  /** Fraction of profiles whose live email and `plan` property differ from the file. */
  differ: number;
  /** Fraction of profiles that do not exist live yet. */
  missing: number;
  /** Profiles per YAML file. */
  perFile?: number;
  /** Id prefix (the incremental benchmark edits a few). */
  prefix?: string;
}

export interface GenProfile {
  distinct_id: string;
  name: string;
  email: string;
  sms: string;
  plan: string;
  ltv: number;
  tags: string[];
}

const PLANS = ['free', 'basic', 'premium', 'enterprise'];
const TAGS = ['vip', 'beta', 'newsletter', 'churn-risk', 'mobile', 'web'];

export function profileAt(i: number, prefix = 'cust'): GenProfile {
  const id = `${prefix}-${String(i).padStart(7, '0')}`;
  return {
    distinct_id: id,
    name: `Customer ${i}`,
    email: `customer${i}@example.com`,
    // +91 98 + 8 digits: valid Indian mobile numbers, distinct per i.
    sms: `+9198${String(10_000_000 + (i % 90_000_000)).slice(-8)}`,
    plan: PLANS[i % PLANS.length]!,
    ltv: (i * 37) % 50_000,
    tags: [TAGS[i % TAGS.length]!, TAGS[(i * 7 + 3) % TAGS.length]!].filter((t, k, a) => a.indexOf(t) === k),
  };
}

/** Whether profile i differs live / is missing live (spread evenly, deterministic). */
export function kindAt(i: number, o: Pick<GenOptions, 'differ' | 'missing'>): 'same' | 'differ' | 'missing' {
  const step = (f: number): number => (f > 0 ? Math.round(1 / f) : Infinity);
  if (o.missing >= 1) return 'missing';
  if (Number.isFinite(step(o.missing)) && i % step(o.missing) === 1) return 'missing';
  if (Number.isFinite(step(o.differ)) && i % step(o.differ) === 0) return 'differ';
  return 'same';
}

export function profileYaml(p: GenProfile): string {
  return [
    `  - distinct_id: ${p.distinct_id}`,
    `    name: ${p.name}`,
    `    channels:`,
    `      email: ${p.email}`,
    `      sms: "${p.sms}"`,
    `    properties:`,
    `      plan: ${p.plan}`,
    `      ltv: ${p.ltv}`,
    `      tags: [${p.tags.join(', ')}]`,
    '',
  ].join('\n');
}

/** Writes `profiles-0001.yaml`… under dir; returns the file paths. */
export async function writeDesired(dir: string, o: GenOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const perFile = o.perFile ?? 5000;
  const files: string[] = [];
  for (let start = 0, n = 1; start < o.count; start += perFile, n++) {
    const parts = ['version: 1', 'profiles:'];
    for (let i = start; i < Math.min(o.count, start + perFile); i++) parts.push(profileYaml(profileAt(i, o.prefix)));
    const file = path.join(dir, `profiles-${String(n).padStart(4, '0')}.yaml`);
    await writeFile(file, `${parts.join('\n')}\n`);
    files.push(file);
  }
  return files;
}

/** The emulator seed (`POST /_emulator/seed`) for live state. */
export function seedFor(o: GenOptions, from = 0, to = o.count): { profiles: unknown[] } {
  const profiles: unknown[] = [];
  for (let i = from; i < to; i++) {
    const kind = kindAt(i, o);
    if (kind === 'missing') continue;
    const p = profileAt(i, o.prefix);
    profiles.push({
      distinct_id: p.distinct_id,
      name: p.name,
      channel: { email: kind === 'differ' ? `old.${p.email}` : p.email, sms: p.sms },
      properties: { plan: kind === 'differ' ? `${p.plan}-old` : p.plan, ltv: p.ltv, tags: p.tags },
    });
  }
  return { profiles };
}

/** Seed the emulator in chunks (one huge JSON body would be slow to build and parse). */
export async function seedEmulator(adminUrl: string, o: GenOptions, chunk = 5000): Promise<void> {
  for (let from = 0; from < o.count; from += chunk) {
    const res = await fetch(`${adminUrl}/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(seedFor(o, from, Math.min(o.count, from + chunk))),
    });
    if (!res.ok) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * A benchmark's data set in place: `gen`'s desired files written to a temporary directory and
 * loaded (the time it took in `loadMs`), the emulator (its own process) seeded with live state.
 * `close` stops the emulator and removes the directory.
 */
export async function seededWorld(
  name: string,
  gen: GenOptions,
  emulator: Parameters<typeof benchEmulator>[0] = {},
): Promise<{ dir: string; emu: BenchEmulator; state: DesiredState; loadMs: number; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `fyno-bench-${name}-`));
  const emu = await benchEmulator(emulator);
  const close = async (): Promise<void> => {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await writeDesired(dir, gen);
    await seedEmulator(emu.adminUrl, gen);
    const loaded = await timed(() => loadDesired([dir], { env: {}, cwd: dir }));
    if (loaded.value.issues.length > 0) throw new Error(`bench data invalid: ${loaded.value.issues[0]!.message}`);
    return { dir, emu, state: loaded.value.state, loadMs: loaded.ms, close };
  } catch (e) {
    await close();
    throw e;
  }
}
