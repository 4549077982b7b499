/**
 * Convergence (STYLE.md, "drizzle diff = push"): for random desired and live states, applying the
 * planned operations to MemoryFyno (the emulator's rules, in process) and planning again yields
 * zero operations. MemoryFyno is not a mock: merges, token inserts, list semantics and property
 * types follow the emulator's behavioural spec, so a planner that predicts Fyno wrongly fails here.
 */
import fc from 'fast-check';
import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import type { DesiredProfile, DesiredProperty, DesiredState } from '../../src/desired/types.js';
import { assertNever } from '../../src/errors.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import type { ActualPreferences, Channels, DistinctId, PreferenceStatus, PropertyValue, Token } from '../../src/fyno/types.js';
import { planOperations, planProfile } from '../../src/plan/diff.js';
import { profileIdOf, type ActualSnapshot, type Operation, type ProfileOperation } from '../../src/plan/types.js';
import { buildPlan } from '../../src/plan/build.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import { collectSecretCandidates, resolveSecrets, secretHash } from '../../src/plan/secrets.js';
import { scalarKey } from '../../src/plan/normalize.js';

const AT = { file: 'p.yaml', line: 1, column: 1 };
const IDS = ['u0', 'u1', 'u2'];
const SOURCES = ['lead0', 'lead1'];
const TOPICS = [
  { subscription_id: 'S1', name: 'News', section: 'General', channel_config: { sms: 'on', email: 'on', whatsapp: 'off' } },
  { subscription_id: 'S2', name: 'Billing', section: 'General', channel_config: { sms: 'required', email: 'on' } },
];

// One kind per property key: Fyno types a property on its first value and ignores mismatches.
const PHONES = [
  ['+919812345678', '+91 98123 45678'],
  ['+14155552671', '14155552671'],
] as const;
const NAMES = ['Priya', 'Sam', 'Ana'];
const TZ = ['Asia/Kolkata', 'UTC'];
const EMAILS = ['a@example.com', 'b@example.com', 'B@EXAMPLE.com'];
const TOKENS = ['tok-a-0000000000000001', 'tok-b-0000000000000002', 'tok-c-0000000000000003'];
const DATES = [['2024-03-01', '2024-03-01T00:00:00.000Z'], ['2020-10-01T18:30:00Z', '2020-10-02T00:00:00.000+05:30']] as const;
const TAGS = ['a', 'b', 'c', 'd'];

const arbToken = fc.record({ token: fc.constantFrom(...TOKENS), integration_id: fc.constantFrom('I1', 'I2') }) as fc.Arbitrary<Token>;
const arbTokens = fc.array(arbToken, { maxLength: 3 });
const propArbs: Record<string, fc.Arbitrary<PropertyValue>> = {
  plan: fc.constantFrom('basic', 'premium'),
  ltv: fc.integer({ min: 0, max: 3 }),
  vip: fc.boolean(),
  signup: fc.constantFrom(...DATES.flat()),
  tags: fc.subarray(TAGS).chain((t) => fc.shuffledSubarray(t, { minLength: t.length, maxLength: t.length })),
};
const KEYS = Object.keys(propArbs);

/** A live profile as created through the API, with some properties and preferences. */
const arbLive = fc.record({
  name: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
  timezone: fc.option(fc.constantFrom(...TZ), { nil: undefined }),
  email: fc.option(fc.constantFrom(...EMAILS), { nil: undefined }),
  sms: fc.option(fc.constantFrom(...PHONES.map((p) => p[1])), { nil: undefined }),
  push: fc.option(arbTokens, { nil: undefined }),
  inapp: fc.option(arbTokens, { nil: undefined }),
  properties: fc.record(Object.fromEntries(KEYS.map((k) => [k, propArbs[k]!])), { requiredKeys: [] }),
  owned: fc.subarray(['prop:plan', 'prop:ltv', 'prop:tags', 'prop:vip', 'pref:S1:sms', 'pref:all:email']),
  prefs: fc.record({ S1: fc.record({ sms: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out') }, { requiredKeys: [] }) }, { requiredKeys: [] }),
});
type LiveSpec = typeof arbLive extends fc.Arbitrary<infer T> ? T : never;

/** Omitted (undefined), removed (null) or a value. */
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: a });

const arbDesiredProperty: fc.Arbitrary<[string, DesiredProperty]> = fc.constantFrom(...KEYS).chain((k) =>
  fc.oneof(
    propArbs[k]!.map((value): [string, DesiredProperty] => [k, { op: 'set', value }]),
    propArbs[k]!.map((value): [string, DesiredProperty] => [k, { op: 'once', value }]),
    fc.constant<[string, DesiredProperty]>([k, { op: 'unset' }]),
  ),
);

const arbDesired = fc.record({
  state: fc.constantFrom<'present' | 'absent'>('present', 'present', 'present', 'absent'),
  name: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
  status: fc.option(fc.constantFrom<'active' | 'inactive'>('active', 'inactive'), { nil: undefined }),
  timezone: fc.option(fc.constantFrom(...TZ), { nil: undefined }),
  channels: fc.option(
    fc.record({ email: maybe(fc.constantFrom(...EMAILS)), sms: maybe(fc.constantFrom(...PHONES.map((p) => p[0]))), push: maybe(arbTokens), inapp: maybe(arbTokens) }),
    { nil: undefined },
  ),
  properties: fc.option(fc.uniqueArray(arbDesiredProperty, { selector: ([k]) => k, maxLength: 4 }), { nil: undefined }),
  preferences: fc.option(
    fc.record(
      {
        all: fc.record({ email: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out') }, { requiredKeys: [] }),
        S1: fc.record({ sms: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out'), email: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out'), whatsapp: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out') }, { requiredKeys: [] }),
        S2: fc.record({ email: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out'), sms: fc.constantFrom<PreferenceStatus>('opted-in', 'opted-out') }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  ),
  exactProps: fc.boolean(),
  exactPrefs: fc.boolean(),
  mergeFrom: fc.subarray(SOURCES, { maxLength: 1 }),
  // Paths whose value came from ${VAR}: masked in plan files, resolved again for apply.
  sensitive: fc.subarray(['name', 'timezone', 'channels.email', 'channels.sms', 'properties.plan', 'properties.tags', 'properties.signup']),
});
type DesiredSpec = typeof arbDesired extends fc.Arbitrary<infer T> ? T : never;

function toDesired(id: string, s: DesiredSpec, mergeFrom: string[]): DesiredProfile {
  const channels: DesiredProfile['channels'] = {};
  if (s.channels) for (const [k, v] of Object.entries(s.channels)) if (v !== undefined) (channels as Record<string, unknown>)[k] = v;
  return {
    distinct_id: id,
    at: AT,
    refs: { file: AT.file, keys: [], pos: [] },
    state: s.state,
    protected: false,
    merge_from: s.state === 'present' ? mergeFrom : [],
    ...(s.name !== undefined ? { name: s.name } : {}),
    ...(s.status !== undefined ? { status: s.status } : {}),
    ...(s.timezone !== undefined ? { timezone: s.timezone } : {}),
    ...(s.channels ? { channels } : {}),
    ...(s.properties ? { properties: Object.fromEntries(s.properties) } : {}),
    ...(s.preferences ? { preferences: s.preferences } : {}),
    exact: { properties: s.exactProps, preferences: s.exactPrefs },
    sensitive: s.sensitive,
  };
}

async function seed(api: MemoryFyno, id: string, l: LiveSpec): Promise<void> {
  await api.createProfile({
    distinct_id: id,
    ...(l.name !== undefined ? { name: l.name } : {}),
    ...(l.timezone !== undefined ? { timezone: l.timezone } : {}),
    channels: {
      ...(l.email !== undefined ? { email: l.email } : {}),
      ...(l.sms !== undefined ? { sms: l.sms } : {}),
      ...(l.push?.length ? { push: l.push } : {}),
      ...(l.inapp?.length ? { inapp: l.inapp } : {}),
    },
  });
  const props: Record<string, PropertyValue> = { ...(l.properties as Record<string, PropertyValue>) };
  if (l.owned.length > 0) props.fyno_sync_managed = l.owned;
  if (Object.keys(props).length > 0) await api.setProperties(id, props);
  if (l.prefs.S1) await api.setPreferences(id, { S1: l.prefs.S1 });
}

/** Reads what the fetcher would: every desired profile and merge source, with preferences. */
async function read(api: MemoryFyno, ids: readonly DistinctId[]): Promise<Map<DistinctId, ActualSnapshot>> {
  const out = new Map<DistinctId, ActualSnapshot>();
  for (const id of ids) {
    const profile = await api.getProfile(id);
    const preferences: ActualPreferences = await api.getPreferences(id);
    out.set(id, { profile, preferences });
  }
  return out;
}

/**
 * Applies a plan as PRODUCT.md ("Applying") says: per profile in plan order; after a merge, whose
 * outcome the API does not define exactly, the profile is re-read and its remaining operations
 * re-planned.
 */
async function applyPlan(api: MemoryFyno, desired: DesiredState, planned: readonly Operation[]): Promise<void> {
  const byId = new Map(desired.profiles.map((p) => [p.distinct_id, p] as const));
  const groups = new Map<DistinctId, ProfileOperation[]>();
  const ops = planned.filter((o): o is ProfileOperation => profileIdOf(o) !== undefined);
  expect(ops.length).toBe(planned.length);
  for (const op of ops) groups.set(op.distinct_id, [...(groups.get(op.distinct_id) ?? []), op]);
  for (const [id, group] of groups) {
    const merges = group.filter((o) => o.type === 'profile.merge');
    if (merges.length === 0) {
      await applyOps(api, group);
      continue;
    }
    await applyOps(api, merges);
    const d = byId.get(id)!;
    const fresh = await read(api, [id, ...d.merge_from]);
    const rest = planProfile(d, fresh, byId).ops;
    expect(rest.filter((o) => o.type === 'profile.merge')).toEqual([]);
    await applyOps(api, rest);
  }
}

/** The small reference applier: one FynoApi call per operation, in order. */
async function applyOps(api: MemoryFyno, ops: readonly ProfileOperation[]): Promise<void> {
  for (const op of ops) {
    const id = op.distinct_id;
    switch (op.type) {
      case 'profile.create': {
        const { channels, ...fields } = op.profile;
        await api.createProfile({ distinct_id: id, ...fields, ...(channels ? { channels: channels as Channels } : {}) });
        break;
      }
      case 'profile.update':
        await api.updateProfile(id, Object.fromEntries(op.changes.map((c) => [c.field, c.after])));
        break;
      case 'profile.merge':
        await api.mergeProfile(op.from, id);
        break;
      case 'channel.set':
        await api.upsertChannels(id, { [op.channel]: op.value });
        break;
      case 'channel.delete':
        if (op.tokens) await api.deleteTokens(id, { [op.channel]: op.tokens });
        else await api.deleteChannels(id, [op.channel]);
        break;
      case 'preference.set':
        await api.setPreferences(id, { [op.topic]: { [op.channel]: op.status } });
        break;
      case 'property.set':
        await api.setProperties(id, { [op.key]: op.value });
        break;
      case 'property.set_once':
        await api.setPropertiesOnce(id, { [op.key]: op.value });
        break;
      case 'property.append':
        await api.appendToProperties(id, { [op.key]: op.value as string });
        break;
      case 'property.remove':
        await api.removeFromProperties(id, { [op.key]: op.value as string });
        break;
      case 'property.unset':
        await api.unsetProperties(id, [op.key]);
        break;
      case 'profile.delete':
        await api.deleteProfiles([id]);
        break;
      default:
        assertNever(op);
    }
  }
  api.flush();
}

/** Independent oracle: does live state hold what the file asks for? Returns what differs. */
function unmet(desired: DesiredState, snaps: ReadonlyMap<DistinctId, ActualSnapshot>, blocked: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const digits = (s: string) => s.replace(/\D/g, '');
  const instant = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) : v);
  const sameValue = (a: unknown, b: unknown): boolean =>
    Array.isArray(a) && Array.isArray(b)
      ? new Set(a.map(instant)).size === new Set(b.map(instant)).size && a.every((x) => b.some((y) => instant(y) === instant(x)))
      : instant(a) === instant(b);
  for (const d of desired.profiles) {
    const p = snaps.get(d.distinct_id)?.profile ?? null;
    const id = d.distinct_id;
    if (d.state === 'absent') {
      if (p) out.push(`${id} still exists`);
      continue;
    }
    if (!p) {
      out.push(`${id} missing`);
      continue;
    }
    for (const f of ['name', 'status', 'timezone'] as const) if (d[f] !== undefined && p[f] !== d[f]) out.push(`${id}.${f}`);
    for (const [c, want] of Object.entries(d.channels ?? {})) {
      const have = (p.channels as Record<string, unknown>)[c];
      if (want === null) {
        if (have !== undefined && !(Array.isArray(have) && have.length === 0)) out.push(`${id}.channels.${c} not deleted`);
      } else if (Array.isArray(want)) {
        const key = (t: Token) => `${t.token}|${t.integration_id ?? ''}`;
        const h = ((have as Token[] | undefined) ?? []).map(key).sort();
        // A token listed twice: the first entry counts (docs/planner.md).
        const first = new Map<string, string>();
        for (const t of want) if (!first.has(t.token)) first.set(t.token, key(t));
        const w = [...first.values()].sort();
        if (JSON.stringify(h) !== JSON.stringify(w)) out.push(`${id}.channels.${c} tokens ${JSON.stringify(h)} != ${JSON.stringify(w)}`);
      } else if (typeof have !== 'string' || (c === 'sms' ? digits(have) !== digits(want) : have.toLowerCase() !== want.toLowerCase())) {
        out.push(`${id}.channels.${c}`);
      }
    }
    for (const [k, want] of Object.entries(d.properties ?? {})) {
      const have = p.properties[k];
      if (want.op === 'unset' && have !== undefined) out.push(`${id}.properties.${k} not unset`);
      if (want.op === 'once' && have === undefined) out.push(`${id}.properties.${k} not set once`);
      if (want.op === 'set' && !(have === undefined && Array.isArray(want.value) && want.value.length === 0) && !sameValue(have, want.value)) {
        out.push(`${id}.properties.${k}: ${JSON.stringify(have)} != ${JSON.stringify(want.value)}`);
      }
    }
    const prefs = snaps.get(id)?.preferences;
    for (const [topic, chans] of Object.entries(d.preferences ?? {})) {
      for (const [ch, want] of Object.entries(chans)) {
        if (blocked.has(`${id} preferences.${topic}.${ch}`)) continue;
        const have = topic === 'all' ? (prefs?.all[ch as 'sms'] ?? 'opted-in') : prefs?.topics.find((t) => t.subscription_id === topic)?.preference[ch as 'sms'] ?? 'opted-in';
        if (have !== want) out.push(`${id}.preferences.${topic}.${ch}`);
      }
    }
  }
  return out;
}

const arbWorld = fc.record({
  live: fc.array(fc.option(arbLive, { nil: null }), { minLength: IDS.length, maxLength: IDS.length }),
  sources: fc.array(fc.option(arbLive, { nil: null }), { minLength: SOURCES.length, maxLength: SOURCES.length }),
  desired: fc.array(arbDesired, { minLength: IDS.length, maxLength: IDS.length }),
});

/** The world of `w` in a fresh MemoryFyno, and the desired state (sources merged into one target at most). */
async function setUp(w: typeof arbWorld extends fc.Arbitrary<infer T> ? T : never): Promise<{ api: MemoryFyno; desired: DesiredState; all: string[] }> {
  const api = new MemoryFyno();
  api.engine.seed({ workspace: api.target.workspace, env: api.target.env, topics: TOPICS });
  for (const [i, l] of w.live.entries()) if (l) await seed(api, IDS[i]!, l);
  for (const [i, l] of w.sources.entries()) if (l) await seed(api, SOURCES[i]!, l);
  api.flush();
  // Each source is merged into at most one target (the loader refuses more).
  const used = new Set<string>();
  const profiles = w.desired.map((s, i) => {
    const from = s.mergeFrom.filter((x) => !used.has(x));
    from.forEach((x) => used.add(x));
    return toDesired(IDS[i]!, s, from);
  });
  return { api, desired: { profiles, files: ['p.yaml'] }, all: [...IDS, ...SOURCES] };
}

const PLAN_OPTS = { createdAt: '2026-01-01T00:00:00.000Z', target: { base_url: 'memory://', workspace: 'W', env: 'live' as const }, sources: ['p.yaml'] };

describe('plan → apply → plan converges', () => {
  it('plans zero operations after its own operations were applied', async () => {
    await fc.assert(
      fc.asyncProperty(arbWorld, async (w) => {
        const { api, desired, all } = await setUp(w);

        const before = await read(api, all);
        const first = planOperations(desired, before);
        // Every plan is a valid plan file, and apply gets back exactly these operations from it.
        const plan = buildPlan(desired, before, PLAN_OPTS);
        expect(plan.operations).toEqual(first.operations);
        expect(resolveSecrets(parsePlan(serializePlan(plan), 'p.json'), collectSecretCandidates(desired, before))).toEqual(plan);
        await applyPlan(api, desired, first.operations);
        const after = await read(api, all);
        const second = planOperations(desired, after);
        expect(second.operations).toEqual([]);
        expect(unmet(desired, after, new Set(first.issues.map((i) => `${i.distinct_id} ${i.field}`)))).toEqual([]);
        // What could not be planned stays an issue, unchanged by applying the rest.
        expect(second.issues.map((i) => `${i.distinct_id} ${i.field}`).sort()).toEqual(
          first.issues.filter((i) => i.field !== 'merge_from').map((i) => `${i.distinct_id} ${i.field}`).sort(),
        );
      }),
      { numRuns: 300, seed: 42 },
    );
  }, 120_000);
});

/**
 * The profile document of docs/planner.md ("Drift as JSON Patch"), written here from its
 * description, independently of src/plan/document.ts: the profile as pull writes it, lists
 * sorted, tokens and `${VAR}` values masked, `null` when the profile does not exist.
 */
function documentOf(id: DistinctId, snap: ActualSnapshot | undefined, sensitive: readonly string[]): unknown {
  const p = snap?.profile;
  if (!p) return null;
  const secret = (v: unknown) => ({ $secret: secretHash(id, v) });
  const mask = (path: string, v: unknown) => (sensitive.includes(path) ? secret(v) : v);
  const byKey = (a: PropertyValue, b: PropertyValue) => (scalarKey(a as string) < scalarKey(b as string) ? -1 : 1);
  const channels: Record<string, unknown> = {};
  for (const [c, v] of Object.entries(p.channels)) {
    if (typeof v === 'string') {
      if (v !== '') channels[c] = mask(`channels.${c}`, v);
    } else if (v && v.length > 0) {
      const tokens = v.map((t) => ({ token: secret(t.token), ...(t.integration_id !== undefined ? { integration_id: t.integration_id } : {}), ...(t.status === 0 ? { status: 'inactive' } : {}) }));
      channels[c] = tokens.sort((a, b) => (`${a.token.$secret} ${a.integration_id}` < `${b.token.$secret} ${b.integration_id}` ? -1 : 1));
    }
  }
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.properties)) {
    if (!k.startsWith('fyno_sync')) properties[k] = mask(`properties.${k}`, Array.isArray(v) ? [...v].sort(byKey) : v);
  }
  const doc: Record<string, unknown> = { distinct_id: id, status: mask('status', p.status), channels, properties };
  if (p.name) doc.name = mask('name', p.name);
  if (p.timezone) doc.timezone = mask('timezone', p.timezone);
  if (snap.preferences) {
    const prefs: Record<string, Record<string, string>> = { all: {} };
    for (const [ch, st] of Object.entries(snap.preferences.all)) if (st === 'opted-out') prefs.all![ch] = st;
    for (const t of snap.preferences.topics) {
      const on = Object.entries(t.channel_config).filter(([, cfg]) => cfg === 'on');
      if (on.length > 0) prefs[t.subscription_id] = Object.fromEntries(on.map(([ch]) => [ch, t.preference[ch as 'sms'] ?? 'opted-in']));
    }
    doc.preferences = prefs;
  }
  return doc;
}

describe('plan.profiles: the drift as JSON Patch (issue #19)', () => {
  it("turns each profile's live document into its document after apply, and is absent for a profile the plan leaves unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(arbWorld, async (w) => {
        const { api, desired, all } = await setUp(w);
        const before = await read(api, all);
        const plan = buildPlan(desired, before, PLAN_OPTS);
        // A saved plan carries the same patches (`show` renders them again).
        expect(parsePlan(serializePlan(plan), 'p.json').profiles).toEqual(plan.profiles);
        const drift = plan.profiles ?? {};
        await applyPlan(api, desired, plan.operations);
        const after = await read(api, all);

        const sensitive = new Map(desired.profiles.map((d) => [d.distinct_id, d.sensitive] as const));
        const merged = new Set(plan.operations.filter((o) => o.type === 'profile.merge').map((o) => o.distinct_id));
        const touched = new Set(plan.operations.flatMap((o) => (o.type === 'profile.merge' ? [o.distinct_id, o.from] : [profileIdOf(o)])));
        for (const id of all) {
          const live = documentOf(id, before.get(id), sensitive.get(id) ?? []);
          const want = documentOf(id, after.get(id), sensitive.get(id) ?? []);
          const entry = drift[id];
          if (!touched.has(id)) expect(entry, `${id}: unchanged, yet a patch`).toBeUndefined();
          if (entry) {
            expect(entry.patch.length).toBeGreaterThan(0);
            expect(JSON.stringify(entry), `${id}: a secret in the patch`).not.toMatch(/tok-[abc]-/);
          }
          const patched = jsonPatch.applyPatch(structuredClone(live), (entry?.patch ?? []) as jsonPatch.Operation[], true, false).newDocument;
          if (entry) expect(patched, `${id}: a patch that changes nothing`).not.toEqual(live);
          // A merge target starts from the planner's prediction of the merge (docs/planner.md),
          // which leaves the source's preferences out; everything else is as Fyno merges.
          const strip = (doc: unknown) => (merged.has(id) && doc ? { ...(doc as Record<string, unknown>), preferences: undefined } : doc);
          expect(strip(patched), `${id}: patch ${JSON.stringify(entry?.patch)}`).toEqual(strip(want));
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  }, 120_000);
});
