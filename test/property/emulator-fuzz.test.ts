/**
 * Fuzzing the HTTP emulator from Fyno's OpenAPI file (issue #15): for every operation of the
 * spec, fast-check draws requests — bodies generated from the operation's request schema by
 * json-schema-faker (seeded by fast-check, the spec's `example`s among them), then sometimes
 * mutated, replaced by arbitrary JSON or sent as text/plain; path and query values from small
 * pools (so profiles exist) or arbitrary strings — and sends them over real HTTP. Every answer
 * must be no 5xx, a status the operation declares, a declared content type, and a body that
 * validates against the declared response schema (openapi-backend + Ajv, test/support/openapi.ts),
 * and a refused request (4xx) changes no state.
 *
 * Fixed seed, a few hundred requests: it runs in CI in about a second.
 */
import fc from 'fast-check';
import { generateSync } from 'json-schema-faker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { seededRandom } from '../../src/fyno/emulator/faults.js';
import { checkExchange, openApi } from '../support/openapi.js';

const WS = 'FYFUZZ';
const KEY = 'fuzz-key';
const SEED = 20_251_201;
const RUNS_PER_OPERATION = 30;

/** Ids that exist after each run's seeding (one needs encoding), plus one that never does. */
const IDS = ['u1', 'u2', 'ü ñ/3', 'ghost'];
const DESTINATIONS = ['u1@x.io', '+919812345678', 'ExponentPushToken[P1]'];
const TOPICS = ['SXXXXXXXXX', 'S000000002', 'S-nope'];
const CHANNEL_NAMES = ['email', 'sms', 'push', 'inapp', 'fax'];
const TOKENS = ['ExponentPushToken[P1]', 'I1', 'T-nope'];

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: { enum?: string[] };
}
interface Operation {
  method: string;
  path: string;
  parameters?: Param[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
}

interface FuzzRequest {
  /** As sent: sometimes with a trailing slash (Fyno's Node SDK sends `…/profiles/`). */
  path: string;
  /** The path as the spec spells it, for validation. */
  specPath: string;
  /** The bearer key sent; null sends no Authorization header. */
  key: string | null;
  contentType: string;
  body: unknown;
}

/** OpenAPI 3.0 `example` is not JSON Schema; json-schema-faker reads `examples`. */
function toJsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'example') out.examples = [v];
    else if (k === 'properties' && typeof v === 'object' && v !== null) {
      out.properties = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, toJsonSchema(sub)]));
    } else out[k] = toJsonSchema(v);
  }
  return out;
}

/** Point some generated ids and destinations at the pools, so requests reach existing state. */
function aimAtPools(v: unknown, pick: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => aimAtPools(x, pick));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const aim = pick() % 4 !== 0;
    if (k === 'distinct_id' && typeof x === 'string' && aim) out[k] = IDS[pick() % IDS.length];
    else if (k === 'distinct_id' && Array.isArray(x)) out[k] = x.map((y) => (typeof y === 'string' && pick() % 2 === 0 ? IDS[pick() % IDS.length] : y));
    // channel/delete: channel names and tokens the seeded profiles have
    else if (k === 'channel' && Array.isArray(x) && aim) out[k] = x.map(() => CHANNEL_NAMES[pick() % CHANNEL_NAMES.length]);
    else if ((k === 'push' || k === 'inapp') && Array.isArray(x) && x.every((y) => typeof y === 'string') && aim) out[k] = x.map(() => TOKENS[pick() % TOKENS.length]);
    else out[k] = aimAtPools(x, pick);
  }
  return out;
}

const anyString = fc.string({ minLength: 1, maxLength: 12 });

function pathValue(name: string, p: Param): fc.Arbitrary<string> {
  if (name === 'WSID') return fc.oneof({ weight: 12, arbitrary: fc.constant(WS) }, { weight: 1, arbitrary: anyString });
  if (p.schema?.enum) return fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...p.schema.enum) }, { weight: 1, arbitrary: anyString });
  if (name === 'subscription_id') return fc.oneof(fc.constantFrom(...TOPICS), anyString);
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...IDS) }, { weight: 1, arbitrary: anyString });
}

/** A query value (null: the parameter is left out). */
function queryValue(name: string): fc.Arbitrary<string | null> {
  const pool: Record<string, string[]> = {
    distinct_id: IDS,
    destination: DESTINATIONS,
    otp: ['1234', '0000'],
    event_list: ['true', 'false'],
    request_id: ['00000000-0000-4000-8000-000000000001'],
    _id: ['000000000000000000000000'],
  };
  const known = pool[name];
  const value = known ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: anyString }) : anyString;
  // request_id would decide over destination on /verify/validate: mostly leave it out.
  const absent = name === 'request_id' || name === '_id' ? 4 : 1;
  return fc.oneof({ weight: absent, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: value });
}

function bodyArb(op: Operation): fc.Arbitrary<unknown> {
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (schema === undefined) return fc.constant(undefined);
  const js = toJsonSchema(schema) as Record<string, unknown>;
  const generated = fc.record({ seed: fc.nat(), examples: fc.boolean(), aim: fc.nat() }).map(({ seed, examples, aim }) => {
    const rnd = seededRandom(aim);
    const body = generateSync(js, { seed, useExamplesValue: examples, optionalsProbability: 0.7, maxDefaultItems: 3 });
    return aimAtPools(body, () => Math.floor(rnd() * 2 ** 31));
  });
  // Valid bodies with one top-level key dropped or replaced by arbitrary JSON.
  const mutated = fc.tuple(generated, fc.nat(), fc.option(fc.jsonValue({ maxDepth: 2 }))).map(([b, i, v]) => {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return b;
    const keys = Object.keys(b);
    if (keys.length === 0) return b;
    const k = keys[i % keys.length]!;
    const copy: Record<string, unknown> = { ...b };
    if (v === null) delete copy[k];
    else copy[k] = v;
    return copy;
  });
  return fc.oneof({ weight: 6, arbitrary: generated }, { weight: 2, arbitrary: mutated }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
}

function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters ?? [];
  const pathParams = Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, pathValue(p.name, p)]));
  const queryParams = Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, queryValue(p.name)]));
  return fc
    .record({
      path: fc.record(pathParams),
      query: fc.record(queryParams),
      body: bodyArb(op),
      contentType: fc.oneof({ weight: 12, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constant('text/plain') }),
      slash: fc.boolean(),
      key: fc.oneof({ weight: 14, arbitrary: fc.constant<string | null>(KEY) }, { weight: 1, arbitrary: fc.constantFrom<string | null>(null, 'wrong-key') }),
    })
    .map(({ path, query, body, contentType, slash, key }) => {
      const p = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(path[name]!));
      const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== null));
      const search = q.size > 0 ? `?${q}` : '';
      return { path: `${p}${slash ? '/' : ''}${search}`, specPath: `${p}${search}`, key, contentType, body };
    });
}

let em: RunningEmulator;
let operations: Operation[];

beforeAll(async () => {
  em = await startEmulator({ apiKey: KEY, workspace: WS, propertyDelayMs: 0 });
  operations = (await openApi()).getOperations() as unknown as Operation[];
});
afterAll(async () => {
  await em.close();
});

const SEED_STATE = {
  workspace: WS,
  // The spec's placeholder topic with every channel of its preference_channels schema, so its
  // examples apply; one required channel and one topic with a channel off.
  topics: [
    {
      subscription_id: 'SXXXXXXXXX',
      section: 'Section1',
      channel_config: { sms: 'on', whatsapp: 'on', email: 'required', discord: 'on', slack: 'on', teams: 'on', push: 'on', voice: 'on', inapp: 'on', webpush: 'on' },
      notification_events: [{ event_id: 'E1', event_name: 'event_name' }],
    },
    { subscription_id: 'S000000002', section: 'Section2', channel_config: { sms: 'off', email: 'on' } },
  ],
  profiles: [
    { distinct_id: 'u1', name: 'U One', channel: { email: 'u1@x.io', sms: '+919812345678', push: [{ token: 'ExponentPushToken[P1]' }] }, properties: { plan: 'pro', tags: ['a'] } },
    { distinct_id: 'u2', channel: { inapp: [{ token: 'I1' }] } },
    { distinct_id: 'ü ñ/3', status: 0 },
  ],
  preferences: { u1: { SXXXXXXXXX: { sms: 'opted-out' } } },
  otps: [{ destination: '+919812345678', otp: '1234' }],
};

/**
 * Fresh state each run, so a failing run replays (and shrinks) alone. Through the engine in
 * process (what the admin API calls), to keep a run to one HTTP request.
 */
function prepare(declareEvents: boolean): void {
  em.engine.reset();
  for (const env of ['live', 'test'] as const) {
    em.engine.seed({ ...SEED_STATE, env, ...(declareEvents ? { events: ['event_name', { name: 'otp', channels: ['sms'] }] } : {}) });
  }
  const sup = em.engine.handle({ method: 'POST', segments: [WS, 'suppressions'], query: {}, body: { channel: 'email', destination: 'u1@x.io', distinct_id: 'u1' } });
  expect(sup.status).toBe(200);
}

async function send(op: Operation, r: FuzzRequest): Promise<{ status: number; problems: string[] }> {
  const headers: Record<string, string> = r.key === null ? {} : { authorization: `Bearer ${r.key}` };
  const before = em.store.mutations;
  let text: string | undefined;
  if (r.body !== undefined) {
    headers['content-type'] = r.contentType;
    text = JSON.stringify(r.body);
  }
  const res = await fetch(`${em.baseUrl}${r.path}`, { method: op.method.toUpperCase(), headers, ...(text !== undefined ? { body: text } : {}) });
  const raw = await res.text();
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`status ${res.status}: ${raw}`);
  // A refused request changes nothing (Fyno answers errors before acting; PUT preference is all-or-nothing).
  if (res.status >= 400 && em.store.mutations !== before) problems.push('a refused request changed state');
  const declared = op.responses?.[String(res.status)];
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (declared?.content && !Object.keys(declared.content).includes(type)) problems.push(`content type ${type} is not declared for ${res.status}`);
  let responseBody: unknown = raw;
  try {
    responseBody = JSON.parse(raw);
  } catch {
    problems.push(`body is not JSON: ${raw.slice(0, 200)}`);
  }
  const check = await checkExchange({ method: op.method, path: r.specPath, headers, body: r.body, status: res.status, responseBody });
  problems.push(...check.responseErrors);
  return { status: res.status, problems: problems.map((p) => `${op.method.toUpperCase()} ${r.path} ${JSON.stringify(r.body)?.slice(0, 300)} → ${res.status} ${raw.slice(0, 200)}: ${p}`) };
}

describe('fuzz: every operation of the OpenAPI file against the HTTP emulator', () => {
  it('covers every operation in the spec', () => {
    expect(operations.length).toBe(23);
  });

  it('answers every drawn request without a 5xx, with a declared status, content type and body', async () => {
    const statuses: Record<string, Set<number>> = {};
    for (const op of operations) {
      const key = `${op.method.toUpperCase()} ${op.path}`;
      statuses[key] = new Set();
      await fc.assert(
        fc.asyncProperty(requestArb(op), fc.boolean(), async (r, declare) => {
          prepare(declare);
          const { status, problems } = await send(op, r);
          statuses[key]!.add(status);
          expect(problems).toEqual([]);
        }),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
    }
    // The draws reach past validation: every operation succeeded at least once.
    const neverOk = Object.entries(statuses).filter(([, s]) => ![...s].some((x) => x < 300)).map(([k]) => k);
    expect(neverOk).toEqual([]);
  });
});
