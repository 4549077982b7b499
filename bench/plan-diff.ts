/**
 * Micro-benchmark of the pure planner (PRODUCT.md, "Numbers": "the pure diff of 100,000 profiles
 * (no I/O) under 3 s", "100,000 profiles planned with peak memory under 512 MB").
 *
 * Generates `n` realistic desired profiles and their live snapshots in process (about 10 % differ
 * in one way or another, 2 % do not exist yet, 1 % are to be deleted), then times `buildPlan`
 * (diff + summary + fingerprints of every profile read). Run alone:
 *   npx tsx bench/plan-diff.ts 100000
 */
import { pathToFileURL } from 'node:url';
import type { DesiredProfile, DesiredState } from '../src/desired/types.js';
import type { ActualProfile, DistinctId, Topic } from '../src/fyno/types.js';
import { buildPlan, preconditionsFor } from '../src/plan/build.js';
import { planOperations } from '../src/plan/diff.js';
import type { ActualSnapshot } from '../src/plan/types.js';

export interface PureDiffResult {
  profiles: number;
  /** Wall time of `buildPlan` (diff, summary, fingerprints). */
  ms: number;
  /** Wall time of `planOperations` alone (the diff). */
  diffMs: number;
  /** Wall time of the preconditions (one sha256 fingerprint per profile read). */
  fingerprintMs: number;
  /** Peak resident set size of the process so far, generation of the data included. */
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

/** Builds the data set, then times the pure planner on it. */
export async function benchPureDiff(n: number): Promise<PureDiffResult> {
  const profiles: DesiredProfile[] = [];
  const actual = new Map<DistinctId, ActualSnapshot>();
  for (let i = 0; i < n; i++) {
    const d = desiredProfile(i);
    profiles.push(d);
    actual.set(d.distinct_id, liveSnapshot(d, i));
  }
  const desired: DesiredState = { profiles, files: ['bench.yaml'] };
  // Warm-up on a slice, so that the timing is of steady-state code, not of the JIT.
  planOperations({ profiles: profiles.slice(0, 1000), files: [] }, actual);

  let t = performance.now();
  const operations = planOperations(desired, actual).operations.length;
  const diffMs = performance.now() - t;

  t = performance.now();
  preconditionsFor(profiles, actual);
  const fingerprintMs = performance.now() - t;

  t = performance.now();
  const plan = buildPlan(desired, actual, {
    createdAt: '2026-01-01T00:00:00.000Z',
    target: { base_url: 'http://127.0.0.1/v1', workspace: 'BENCH', env: 'test' },
    sources: desired.files,
  });
  const ms = performance.now() - t;
  if (plan.operations.length !== operations) throw new Error('buildPlan and planOperations disagree');
  return {
    profiles: n,
    ms: Math.round(ms),
    diffMs: Math.round(diffMs),
    fingerprintMs: Math.round(fingerprintMs),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    operations,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await benchPureDiff(n)));
}
