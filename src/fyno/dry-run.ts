/**
 * `apply --dry-run` (issue #5 §4, PRODUCT.md "Commands" → apply): a `FynoApi` that sends no
 * write. Reads go to a real `FynoApi`, so planning and staleness checks see live state; each
 * write is recorded as the exact `RequestSpec` wire.ts builds for `HttpFynoClient`, with
 * push/inapp tokens and the given secret values (environment-sourced) masked, and is answered
 * as a success without touching Fyno.
 */
import * as wire from './wire.js';
import { pathWithQuery } from './wire.js';
import type { RequestSpec } from './wire.js';
import { toFynoApiError } from './http-retry.js';
import type {
  Accepted,
  ActualPreferences,
  ActualProfile,
  CallOptions,
  ChannelName,
  Channels,
  DistinctId,
  FynoApi,
  PreferenceChannel,
  PreferenceStatus,
  PreferenceUpdate,
  ProfileCreate,
  ProfileUpdate,
  PropertyBatchItem,
  PropertyScalar,
  PropertyValue,
  Suppression,
  SuppressionAdd,
  SuppressionDelete,
  Target,
} from './types.js';

/** What a masked value is shown as. */
export const MASK = '***';

/** The `request_id` a dry-run property write answers with. */
export const DRY_RUN_REQUEST_ID = 'dry-run';

export interface DryRunOptions {
  /** Values masked wherever they occur in a path, query or body (e.g. environment-sourced values). */
  secrets?: Iterable<string>;
  /** Called with each (masked) write as it is recorded, e.g. to print it at once. */
  onWrite?: (spec: RequestSpec) => void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Push/inapp tokens are credentials: `[{token}]` in channel bodies, `[string]` in token deletes. */
function maskTokenList(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((t) => (typeof t === 'string' ? MASK : isRecord(t) && 'token' in t ? { ...t, token: MASK } : t));
}

function maskTokens(body: unknown): unknown {
  if (!isRecord(body)) return body;
  const out: Record<string, unknown> = { ...body };
  // `POST …/channel/delete` option 2 (`channel_delete_body`): `push` / `inapp` string arrays.
  for (const k of ['push', 'inapp']) if (k in out) out[k] = maskTokenList(out[k]);
  // `channel` of `POST /profiles` and `PATCH …/channel` (`WSIDversionprofiles_channel`).
  if (isRecord(out.channel)) {
    const ch: Record<string, unknown> = { ...out.channel };
    for (const k of ['push', 'inapp']) if (k in ch) ch[k] = maskTokenList(ch[k]);
    out.channel = ch;
  }
  return out;
}

/** Replace every occurrence of each secret (longest first) in a string. */
function maskString(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return out;
}

/** Keys whose values are ids, never secret values (issue #13 part 6: an in-app token may equal the id). */
const ID_KEYS = new Set(['distinct_id']);

function maskDeep(v: unknown, secrets: readonly string[]): unknown {
  if (typeof v === 'string') return maskString(v, secrets);
  if ((typeof v === 'number' || typeof v === 'boolean') && secrets.includes(String(v))) return MASK;
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, secrets));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ID_KEYS.has(k) ? x : maskDeep(x, secrets)]));
  return v;
}

/**
 * A copy of `spec` safe to show: tokens masked, and each secret value masked in the query and
 * the body. Ids are never masked: the path holds only ids (distinct_ids, topic ids), and neither
 * does a `distinct_id` in a query or body, even when a secret value (an in-app token) equals one,
 * so that a dry run can be reviewed. `spec` is not modified.
 */
export function maskRequest(spec: RequestSpec, secrets: Iterable<string> = []): RequestSpec {
  const list = [...new Set(secrets)].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  const out: RequestSpec = { ...spec };
  if (spec.query !== undefined) out.query = maskDeep(spec.query, list) as Record<string, string>;
  if (spec.body !== undefined) out.body = maskDeep(maskTokens(spec.body), list);
  return out;
}

/** One line per request: `METHOD path[?query] [JSON body]`. */
export function formatRequest(spec: Pick<RequestSpec, 'method' | 'path' | 'query' | 'body'>): string {
  const line = `${spec.method} ${pathWithQuery(spec)}`;
  return spec.body === undefined ? line : `${line} ${JSON.stringify(spec.body)}`;
}

/** `formatRequest` for each request, newline-joined (no trailing newline). */
export function formatRequests(specs: readonly RequestSpec[]): string {
  return specs.map(formatRequest).join('\n');
}

/** A `FynoApi` that reads through `reads` and records writes instead of sending them. */
export class DryRunFyno implements FynoApi {
  /** Every write that would have been sent, masked, in call order. */
  readonly writes: RequestSpec[] = [];
  readonly #reads: FynoApi;
  readonly #secrets: string[];
  readonly #onWrite: ((spec: RequestSpec) => void) | undefined;

  constructor(reads: FynoApi, opts: DryRunOptions = {}) {
    this.#reads = reads;
    this.#secrets = [...(opts.secrets ?? [])];
    this.#onWrite = opts.onWrite;
  }

  get target(): Target {
    return this.#reads.target;
  }

  #record(spec: RequestSpec, o: CallOptions | undefined): void {
    if (o?.signal?.aborted) {
      throw toFynoApiError({ method: spec.method, path: pathWithQuery(maskRequest(spec, this.#secrets)), attempts: 0, timeoutMs: 0, aborted: true, retryable: false }, '');
    }
    const masked = maskRequest(spec, this.#secrets);
    this.writes.push(masked);
    this.#onWrite?.(masked);
  }

  async #accepted(spec: RequestSpec, o: CallOptions | undefined): Promise<Accepted> {
    this.#record(spec, o);
    return { request_id: DRY_RUN_REQUEST_ID };
  }

  async #void(spec: RequestSpec, o: CallOptions | undefined): Promise<void> {
    this.#record(spec, o);
  }

  getProfile(id: DistinctId, o?: CallOptions): Promise<ActualProfile | null> {
    return this.#reads.getProfile(id, o);
  }
  getPreferences(id: DistinctId, o?: CallOptions): Promise<ActualPreferences> {
    return this.#reads.getPreferences(id, o);
  }
  listSuppressions(o?: CallOptions): Promise<Suppression[]> {
    return this.#reads.listSuppressions(o);
  }

  createProfile(profile: ProfileCreate, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildCreateProfile(this.target, profile), o);
  }
  updateProfile(id: DistinctId, fields: ProfileUpdate, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildUpdateProfile(this.target, id, fields), o);
  }
  deleteProfiles(ids: DistinctId[], o?: CallOptions): Promise<void> {
    return this.#void(wire.buildDeleteProfiles(this.target, ids), o);
  }
  mergeProfile(source: DistinctId, target: DistinctId, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildMergeProfile(this.target, source, target), o);
  }
  upsertChannels(id: DistinctId, channels: Channels, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildUpsertChannels(this.target, id, channels), o);
  }
  deleteChannels(id: DistinctId, channels: ChannelName[], o?: CallOptions): Promise<void> {
    return this.#void(wire.buildDeleteChannels(this.target, id, channels), o);
  }
  deleteTokens(id: DistinctId, tokens: { push?: string[]; inapp?: string[] }, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildDeleteTokens(this.target, id, tokens), o);
  }
  setPreferences(id: DistinctId, update: PreferenceUpdate, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildSetPreferences(this.target, id, update), o);
  }
  setPreference(id: DistinctId, topic: string, channel: PreferenceChannel, status: PreferenceStatus, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildSetPreference(this.target, id, topic, channel, status), o);
  }
  setProperties(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildSetProperties(this.target, id, values), o);
  }
  setPropertiesOnce(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildSetPropertiesOnce(this.target, id, values), o);
  }
  addToProperties(id: DistinctId, values: Record<string, number>, o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildAddToProperties(this.target, id, values), o);
  }
  appendToProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildAppendToProperties(this.target, id, values), o);
  }
  removeFromProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildRemoveFromProperties(this.target, id, values), o);
  }
  unsetProperties(id: DistinctId, keys: string[], o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildUnsetProperties(this.target, id, keys), o);
  }
  batchProperties(items: PropertyBatchItem[], o?: CallOptions): Promise<Accepted> {
    return this.#accepted(wire.buildBatchProperties(this.target, items), o);
  }
  addSuppression(entry: SuppressionAdd, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildAddSuppression(this.target, entry), o);
  }
  deleteSuppression(which: SuppressionDelete, o?: CallOptions): Promise<void> {
    return this.#void(wire.buildDeleteSuppression(this.target, which), o);
  }
}
