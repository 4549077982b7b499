/**
 * Micro-benchmark of the pure planner (PRODUCT.md, "Numbers": "the pure diff of 100,000 profiles
 * (no I/O) under 3 s", "100,000 profiles planned with peak memory under 512 MB"; issue #17: 2 s).
 *
 * Generates `n` realistic desired profiles and their live snapshots in process (about 10 % differ
 * in one way or another, 2 % do not exist yet, 1 % are to be deleted), then times `buildPlan`
 * (diff, the JSON Patch of each changed profile, summary, fingerprints of every profile read),
 * `planOperations` (the diff alone) and `preconditionsFor` (the fingerprints alone).
 *
 * Each figure is the median of `rounds` rounds, after a warm-up of all three on 2,000 profiles.
 * The first call at full size is often 2-3× slower than the next ones (the young generation and
 * the compiled code are still growing into it), and a single timing of each in a fixed order
 * charged that to whichever came first: bench/RESULTS.md once showed the diff alone slower than
 * buildPlan, which does the diff and more. Run alone:
 *   npx tsx bench/plan-diff.ts 100000 [rounds]
 */
import { pathToFileURL } from 'node:url';
import type { DesiredProfile, DesiredState } from '../src/desired/types.js';
import type { ActualProfile, DistinctId, Topic } from '../src/fyno/types.js';
import { buildPlan, preconditionsFor } from '../src/plan/build.js';
import { planOperations } from '../src/plan/diff.js';
import type { ActualSnapshot } from '../src/plan/types.js';

export interface PureDiffTimes {
  /** Wall time of `buildPlan` (diff, JSON Patch, summary, fingerprints). */
  ms: number;
  /** Wall time of `planOperations` alone (the diff). */
  diffMs: number;
  /** Wall time of the preconditions (one sha256 fingerprint per profile read). */
  fingerprintMs: number;
}

export interface PureDiffResult extends PureDiffTimes {
  profiles: number;
  /** Each round's times, in run order; the figures above are their medians. */
  rounds: PureDiffTimes[];
  /**
   * Peak resident set size of the process after the first round: generation of the data and one
   * call of each included (later rounds only add garbage the collector has not returned yet).
   */
  peakRssMb: number;
  operations: number;
}

const AT = { file: 'bench.yaml', line: 1, column: 1 };
const TOPICS = ['S1', 'S2', 'S3'];

function desiredProfile(i: number): DesiredProfile {
  const id = `cust-${i}`;
  return {
    distinct_id: id,
    at: AT,
    refs: { file: AT.file, keys: [], pos: [] },
    state: i % 100 === 99 ? 'absent' : 'present',
    protected: false,
    merge_from: [],
    name: `Customer ${i}`,
    status: 'active',
    timezone: 'Asia/Kolkata',
    channels: {
      email: `c${i}@example.com`,
      sms: `+9198${String(10_000_000 + i).slice(-8)}`,
      push: [{ token: `ExponentPushToken[${i.toString(36).padStart(12, 'x')}]`, integration_id: 'IPUSH' }],
    },
    preferences: { S1: { email: 'opted-in', sms: i % 7 === 0 ? 'opted-out' : 'opted-in' }, all: { whatsapp: 'opted-out' } },
    properties: {
      plan: { op: 'set', value: i % 3 === 0 ? 'premium' : 'basic' },
      ltv: { op: 'set', value: i * 10 },
      signup_date: { op: 'set', value: '2024-03-01' },
      tags: { op: 'set', value: i % 2 === 0 ? ['vip', 'beta'] : ['beta'] },
      first_seen: { op: 'once', value: '2024-01-01' },
      legacy: { op: 'unset' },
    },
    exact: { properties: false, preferences: false },
    sensitive: [],
  };
}

function liveSnapshot(d: DesiredProfile, i: number): ActualSnapshot {
  if (i % 50 === 7) return { profile: null, preferences: { all: {}, topics: TOPICS.map(topic) } };
  const props = Object.fromEntries(
    Object.entries(d.properties ?? {}).flatMap(([k, p]) => (p.op === 'unset' ? [] : [[k, p.value]])),
  ) as ActualProfile['properties'];
  const profile: ActualProfile = {
    distinct_id: d.distinct_id,
    name: d.name!,
    status: 'active',
    timezone: d.timezone!,
    channels: {
      email: d.channels!.email!,
      // Stored in Fyno's spaced form: equal after normalisation.
      sms: `+91 ${d.channels!.sms!.slice(3, 8)} ${d.channels!.sms!.slice(8)}`,
      push: d.channels!.push!.map((t) => ({ ...t, status: 1 as const })),
    },
    properties: { ...props, signup_date: '2024-03-01T00:00:00.000Z' },
    server: { profile_id: `p${i}`, created_at: '2024-01-01T00:00:00Z', updated_at: '2024-06-01T00:00:00Z', country_code: 'IN' },
  };
  // About 10 % differ: a name, a list, a channel, a property to unset, a preference.
  switch (i % 50) {
    case 1:
      profile.name = 'Old name';
      break;
    case 2:
      profile.properties.tags = ['alpha'];
      break;
    case 3:
      profile.channels.email = 'old@example.com';
      break;
    case 4:
      profile.properties.legacy = true;
      break;
    case 5:
      profile.channels.push = [{ token: 'stale-token-000000000', integration_id: 'IPUSH' }];
      break;
  }
  const topics = TOPICS.map(topic);
  if (i % 7 === 0) topics[0]!.preference = { sms: 'opted-out' };
  const preferences = { all: i % 50 === 6 ? {} : { whatsapp: 'opted-out' as const }, topics };
  return { profile, preferences };
}

function topic(id: string): Topic {
  return { subscription_id: id, name: id, section: 'General', channel_config: { email: 'on', sms: 'on', whatsapp: 'on' }, preference: {} };
}

/** Builds the data set, then times the pure planner on it, `rounds` times. */
export async function benchPureDiff(n: number, rounds = 3): Promise<PureDiffResult> {
  const profiles: DesiredProfile[] = [];
  const actual = new Map<DistinctId, ActualSnapshot>();
  for (let i = 0; i < n; i++) {
    const d = desiredProfile(i);
    profiles.push(d);
    actual.set(d.distinct_id, liveSnapshot(d, i));
  }
  const desired: DesiredState = { profiles, files: ['bench.yaml'] };
  const opts = {
    createdAt: '2026-01-01T00:00:00.000Z',
    target: { base_url: 'http://127.0.0.1/v1', workspace: 'BENCH', env: 'test' as const },
    sources: desired.files,
  };
  // Warm-up of all three on a slice (every kind of profile is in 2,000), so that the timings are
  // of steady-state code, not of the JIT.
  const slice = profiles.slice(0, 2000);
  buildPlan({ profiles: slice, files: [] }, actual, opts);
  planOperations({ profiles: slice, files: [] }, actual);
  preconditionsFor(slice, actual);

  const times: PureDiffTimes[] = [];
  let operations = 0;
  let peakRssMb = 0;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    const planned = buildPlan(desired, actual, opts).operations.length;
    const ms = performance.now() - t;

    t = performance.now();
    operations = planOperations(desired, actual).operations.length;
    const diffMs = performance.now() - t;

    t = performance.now();
    preconditionsFor(profiles, actual);
    const fingerprintMs = performance.now() - t;
    if (planned !== operations) throw new Error('buildPlan and planOperations disagree');
    times.push({ ms: Math.round(ms), diffMs: Math.round(diffMs), fingerprintMs: Math.round(fingerprintMs) });
    if (r === 0) peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  }
  return {
    profiles: n,
    ms: median(times.map((x) => x.ms)),
    diffMs: median(times.map((x) => x.diffMs)),
    fingerprintMs: median(times.map((x) => x.fingerprintMs)),
    rounds: times,
    peakRssMb,
    operations,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await benchPureDiff(n, Number(process.argv[3] ?? 3))));
}
