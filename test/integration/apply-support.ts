/**
 * Helpers for applier tests: plan a desired state against a live FynoApi with the real planner,
 * the re-plan function apply uses after merges, a convergence check, and `LossyApi` — a port
 * decorator (not a mock: every call reaches the real emulator) that turns chosen calls into
 * "applied but the answer was lost" or "refused before applying" failures.
 */
import type { DesiredProfile, DesiredState } from '../../src/desired/types.js';
import { FynoApiError } from '../../src/fyno/errors.js';
import type { DistinctId, FynoApi } from '../../src/fyno/types.js';
import { readsFor } from '../../src/create-plan.js';
import { fetchActual } from '../../src/fyno/fetch-actual.js';
import { buildPlan } from '../../src/plan/build.js';
import { profile } from '../unit/plan-builders.js';
import { planProfile } from '../../src/plan/diff.js';
import type { ActualSnapshot, Operation, Plan } from '../../src/plan/types.js';

export const CREATED_AT = '2026-01-02T03:04:05.000Z';

/** What the planner needs: every profile and merge source, preferences when managed (read one at a time). */
export async function readActual(api: FynoApi, d: DesiredState): Promise<Map<DistinctId, ActualSnapshot>> {
  return (await fetchActual(api, readsFor(d.profiles), { concurrency: 1 })).snapshots;
}

export async function planFor(api: FynoApi, d: DesiredState): Promise<Plan> {
  const actual = await readActual(api, d);
  const t = api.target;
  return buildPlan(d, actual, { createdAt: CREATED_AT, target: { base_url: t.baseUrl, workspace: t.workspace, env: t.env }, sources: d.files });
}

/** The `replan` dependency: the profile's operations against its live state after its merges. */
export function replanFor(d: DesiredState): (id: DistinctId, snap: ActualSnapshot) => Operation[] {
  const byId = new Map(d.profiles.map((p) => [p.distinct_id, p] as const));
  return (id, snap) => {
    const p = byId.get(id);
    if (!p) return [];
    const actual = new Map<DistinctId, ActualSnapshot>([[id, snap]]);
    for (const s of p.merge_from) if (s !== id) actual.set(s, { profile: null });
    return planProfile(p, actual, byId).ops;
  };
}

export type LossMode = 'lost' | 'refused';

/**
 * Wraps an API: for `method`, the calls numbered in `calls` (1-based) fail. `lost`: the call
 * reaches Fyno and is applied, then the answer is replaced by an outcome-unknown timeout.
 * `refused`: nothing is sent, a 503 with outcome unknown is thrown (Fyno may or may not have
 * applied it, from the caller's point of view).
 */
export function lossyApi(api: FynoApi, method: keyof FynoApi, calls: number[], mode: LossMode = 'lost'): FynoApi & { seen: number } {
  let n = 0;
  const state = { seen: 0 };
  const wrapped = new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'seen') return state.seen;
      if (prop !== method || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return async (...args: unknown[]) => {
        n += 1;
        state.seen = n;
        if (!calls.includes(n)) return (v as (...a: unknown[]) => unknown).apply(target, args);
        if (mode === 'lost') await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        throw new FynoApiError('api.timeout', `${String(method)} failed: injected ${mode}`, {
          method: 'POST',
          path: `/injected/${String(method)}`,
          retryable: true,
          outcomeUnknown: true,
          attempts: 1,
          ...(mode === 'refused' ? { status: 503 } : {}),
        });
      };
    },
  });
  return wrapped as FynoApi & { seen: number };
}

/** No value of a list property and no push/inapp token appears twice. */
export function duplicates(snap: ActualSnapshot): string[] {
  const out: string[] = [];
  const p = snap.profile;
  if (!p) return out;
  for (const c of ['push', 'inapp'] as const) {
    const tokens = (p.channels[c] ?? []).map((t) => t.token);
    if (new Set(tokens).size !== tokens.length) out.push(`${p.distinct_id}.channels.${c}`);
  }
  for (const [k, v] of Object.entries(p.properties)) {
    if (Array.isArray(v) && new Set(v.map((x) => JSON.stringify(x))).size !== v.length) out.push(`${p.distinct_id}.properties.${k}`);
  }
  return out;
}

export interface Scenario {
  /** Bodies for the emulator's seed (`POST /_emulator/seed` or `engine.seed`). */
  seed: { profiles: unknown[] };
  desired: DesiredState;
}

const AT = { file: 'profiles.yaml', line: 1, column: 1 };

function want(distinct_id: string, fields: Partial<DesiredProfile>): DesiredProfile {
  return profile(distinct_id, { at: AT, ...fields });
}

/**
 * `n` profiles covering every operation kind: creates with tokens, field/channel updates, token
 * inserts and deletes, list appends and removes, unsets, `$once`, preferences, merges (into an
 * existing target and renames) and deletes (`withDeletes`).
 */
export function scenario(n: number, withDeletes = false): Scenario {
  const profiles: unknown[] = [];
  const wanted: DesiredProfile[] = [];
  for (let i = 0; i < n; i += 1) {
    const id = `cust-${i}`;
    switch (i % 6) {
      case 0:
        wanted.push(
          want(id, {
            name: `New ${i}`,
            channels: { email: `n${i}@example.com`, push: [{ token: `t${i}a`, integration_id: 'I1' }, { token: `t${i}b` }] },
            properties: { plan: { op: 'set', value: 'gold' }, tags: { op: 'set', value: ['x', 'y'] } },
            preferences: { S000000003: { sms: 'opted-out' } },
          }),
        );
        break;
      case 1:
        profiles.push({ distinct_id: id, name: 'Old', channel: { email: `old${i}@example.com`, push: [{ token: `t${i}a` }] }, properties: { tags: ['x'], old_flag: true } });
        wanted.push(
          want(id, {
            name: `Renamed ${i}`,
            channels: { email: `e${i}@example.com`, push: [{ token: `t${i}a` }, { token: `t${i}z` }] },
            properties: { tags: { op: 'set', value: ['x', 'y'] }, old_flag: { op: 'unset' } },
          }),
        );
        break;
      case 2:
        profiles.push({ distinct_id: id, channel: { sms: '+919812345678', push: [{ token: `t${i}a` }, { token: `t${i}b` }] }, properties: { tags: ['x', 'y'] } });
        wanted.push(
          want(id, {
            channels: { sms: null, push: [{ token: `t${i}a` }] },
            properties: { tags: { op: 'set', value: ['x'] } },
            preferences: { all: { whatsapp: 'opted-out' }, S000000003: { email: 'opted-out' } },
          }),
        );
        break;
      case 3:
        profiles.push({ distinct_id: id, name: 'Target', properties: { plan: 'basic' } });
        profiles.push({ distinct_id: `lead-${i}`, name: 'Lead', channel: { email: `lead${i}@example.com`, push: [{ token: `l${i}` }] }, properties: { source: 'ads' } });
        wanted.push(want(id, { merge_from: [`lead-${i}`], properties: { plan: { op: 'set', value: 'premium' }, source: { op: 'unset' } }, channels: { push: [{ token: `l${i}` }, { token: `m${i}` }] } }));
        break;
      case 4:
        profiles.push({ distinct_id: `old-${i}`, name: 'Renamed away', properties: { ltv: 3 } });
        wanted.push(want(id, { merge_from: [`old-${i}`], name: `Moved ${i}`, properties: { ltv: { op: 'set', value: 7 }, first_seen: { op: 'once', value: '2024-01-01' } } }));
        break;
      default:
        if (withDeletes) {
          profiles.push({ distinct_id: id, name: 'Churned' });
          wanted.push(want(id, { state: 'absent' }));
        } else {
          profiles.push({ distinct_id: id, name: 'Same', properties: { score: 1 } });
          wanted.push(want(id, { properties: { score: { op: 'set', value: i } } }));
        }
    }
  }
  return { seed: { profiles }, desired: { profiles: wanted, files: ['profiles.yaml'] } };
}

/** Every desired profile as live state: no duplicate token or list value anywhere. */
export async function duplicatesIn(api: FynoApi, d: DesiredState): Promise<string[]> {
  const out: string[] = [];
  for (const p of d.profiles) out.push(...duplicates({ profile: await api.getProfile(p.distinct_id) }));
  return out;
}

/** Call the emulator's admin API (`/_emulator/…`): GET without a body, POST with one. */
export async function emulatorAdmin(adminUrl: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${adminUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as Record<string, unknown>;
}
