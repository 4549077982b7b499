/**
 * MemoryFyno: `FynoApi` in-process, over the same EmulatorEngine and request handlers as the
 * HTTP emulator. Requests are built with the pure builders of wire.ts, bodies go through a
 * JSON round trip as on the wire, answers are parsed with wire-parse.ts and failures become
 * the same `FynoApiError`s `HttpFynoClient` throws. Not a mock: same state rules.
 */
import { isFynoApiError } from '../errors.js';
import { toFynoApiError } from '../http-retry.js';
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
} from '../types.js';
import {
  buildAddSuppression,
  buildAddToProperties,
  buildAppendToProperties,
  buildBatchProperties,
  buildCreateProfile,
  buildDeleteChannels,
  buildDeleteProfiles,
  buildDeleteSuppression,
  buildDeleteTokens,
  buildGetPreferences,
  buildGetProfile,
  buildListSuppressions,
  buildMergeProfile,
  buildRemoveFromProperties,
  buildSetPreference,
  buildSetPreferences,
  buildSetProperties,
  buildSetPropertiesOnce,
  buildUnsetProperties,
  buildUpdateProfile,
  buildUpsertChannels,
  isMissingProfileAnswer,
  parseAccepted,
  parsePreferences,
  parseProfile,
  parseSuppressions,
  type RequestSpec,
} from '../wire.js';
import { EmulatorEngine } from './engine.js';
import type { Env, FynoStore } from './store.js';

export interface MemoryFynoOptions {
  /** Default `FYEMULATOR`. */
  workspace?: string;
  env?: Env;
  /** Delay before property requests apply; 0 (default) applies them before the call returns. */
  propertyDelayMs?: number;
  /** Share a store, e.g. with a running HTTP emulator or another MemoryFyno (other env). */
  store?: FynoStore;
  now?: () => Date;
}

export class MemoryFyno implements FynoApi {
  readonly target: Target;
  readonly engine: EmulatorEngine;
  /** Calls by `METHOD route`, e.g. `PATCH /{WSID}/{version}/profiles/{distinct_id}/channel`. */
  readonly requests: Record<string, number> = {};

  constructor(opts: MemoryFynoOptions = {}) {
    const workspace = opts.workspace ?? 'FYEMULATOR';
    this.target = { baseUrl: 'memory://fyno/v1', workspace, env: opts.env ?? 'live' };
    this.engine = new EmulatorEngine({
      workspace,
      propertyDelayMs: opts.propertyDelayMs ?? 0,
      ...(opts.store ? { store: opts.store } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  get store(): FynoStore {
    return this.engine.store;
  }

  /** Total calls made. */
  get requestCount(): number {
    return Object.values(this.requests).reduce((a, b) => a + b, 0);
  }

  /** Calls that were not GETs. */
  get writeCount(): number {
    return Object.entries(this.requests).reduce((a, [k, n]) => (k.startsWith('GET ') ? a : a + n), 0);
  }

  resetCounts(): void {
    for (const k of Object.keys(this.requests)) delete this.requests[k];
  }

  /** Apply every accepted, not yet applied property request now; returns how many. */
  flush(): number {
    return this.engine.flush();
  }

  /** Stop the property timer (only needed with `propertyDelayMs` > 0). */
  close(): void {
    this.engine.close();
  }

  /**
   * One-shot faults for the next `n` calls, as the HTTP emulator injects them:
   * `error` (default) throws the `status` (default 503; 429 carries `Retry-After: 1`) without
   * applying; `timeout` throws `api.timeout` without applying; `lost` applies the call, then
   * throws `api.network` with `outcomeUnknown` for writes ("applied but the response was lost").
   */
  failNext(n: number, fault: { kind?: 'error' | 'timeout' | 'lost'; status?: number } = {}): void {
    for (let i = 0; i < n; i += 1) this.faults.push({ kind: fault.kind ?? 'error', status: fault.status ?? 503 });
  }

  private readonly faults: { kind: 'error' | 'timeout' | 'lost'; status: number }[] = [];

  /** Send one request through the engine; throws `FynoApiError` for every status ≥ 400. */
  private send(spec: RequestSpec, o?: CallOptions): { status: number; body: unknown } {
    const key = `${spec.method} ${spec.route}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    const facts = { method: spec.method, path: spec.path, attempts: 1, timeoutMs: 0, aborted: false, retryable: false };
    if (o?.signal?.aborted) throw toFynoApiError({ ...facts, attempts: 0, aborted: true }, '');
    const fault = this.faults.shift();
    if (fault?.kind === 'error') {
      const bodyText = JSON.stringify({ _message: 'Internal server error (injected by MemoryFyno)', status: 'error' });
      throw toFynoApiError({ ...facts, status: fault.status, bodyText, ...(fault.status === 429 ? { retryAfterHeader: '1' } : {}) }, '');
    }
    if (fault?.kind === 'timeout') throw toFynoApiError({ ...facts, errorCode: 'ETIMEDOUT' }, '');
    const segments = spec.path.split('/').slice(1).map(decodeURIComponent);
    const body = spec.body === undefined ? undefined : (JSON.parse(JSON.stringify(spec.body)) as unknown);
    const reply = this.engine.handle({ method: spec.method, segments, query: { ...(spec.query ?? {}) }, body });
    if (fault?.kind === 'lost') throw toFynoApiError({ ...facts, errorCode: 'ECONNRESET' }, '');
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    if (reply.status >= 400) {
      throw toFynoApiError(
        { method: spec.method, path: spec.path, attempts: 1, timeoutMs: 0, status: reply.status, bodyText: text, aborted: false, retryable: false },
        '',
      );
    }
    return { status: reply.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  async getProfile(id: DistinctId, o?: CallOptions): Promise<ActualProfile | null> {
    try {
      return parseProfile(this.send(buildGetProfile(this.target, id), o).body, id);
    } catch (e) {
      if (isFynoApiError(e) && e.api.status !== undefined && isMissingProfileAnswer(e.api.status, e.api.fynoMessage)) return null;
      throw e;
    }
  }

  async createProfile(profile: ProfileCreate, o?: CallOptions): Promise<void> {
    this.send(buildCreateProfile(this.target, profile), o);
  }

  async updateProfile(id: DistinctId, fields: ProfileUpdate, o?: CallOptions): Promise<void> {
    this.send(buildUpdateProfile(this.target, id, fields), o);
  }

  async deleteProfiles(ids: DistinctId[], o?: CallOptions): Promise<void> {
    this.send(buildDeleteProfiles(this.target, ids), o);
  }

  async mergeProfile(source: DistinctId, target: DistinctId, o?: CallOptions): Promise<void> {
    this.send(buildMergeProfile(this.target, source, target), o);
  }

  async upsertChannels(id: DistinctId, channels: Channels, o?: CallOptions): Promise<void> {
    this.send(buildUpsertChannels(this.target, id, channels), o);
  }

  async deleteChannels(id: DistinctId, channels: ChannelName[], o?: CallOptions): Promise<void> {
    this.send(buildDeleteChannels(this.target, id, channels), o);
  }

  async deleteTokens(id: DistinctId, tokens: { push?: string[]; inapp?: string[] }, o?: CallOptions): Promise<void> {
    this.send(buildDeleteTokens(this.target, id, tokens), o);
  }

  async getPreferences(id: DistinctId, o?: CallOptions): Promise<ActualPreferences> {
    return parsePreferences(this.send(buildGetPreferences(this.target, id), o).body);
  }

  async setPreferences(id: DistinctId, update: PreferenceUpdate, o?: CallOptions): Promise<void> {
    this.send(buildSetPreferences(this.target, id, update), o);
  }

  async setPreference(id: DistinctId, topic: string, channel: PreferenceChannel, status: PreferenceStatus, o?: CallOptions): Promise<void> {
    this.send(buildSetPreference(this.target, id, topic, channel, status), o);
  }

  async setProperties(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildSetProperties(this.target, id, values), o).body);
  }

  async setPropertiesOnce(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildSetPropertiesOnce(this.target, id, values), o).body);
  }

  async addToProperties(id: DistinctId, values: Record<string, number>, o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildAddToProperties(this.target, id, values), o).body);
  }

  async appendToProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildAppendToProperties(this.target, id, values), o).body);
  }

  async removeFromProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildRemoveFromProperties(this.target, id, values), o).body);
  }

  async unsetProperties(id: DistinctId, keys: string[], o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildUnsetProperties(this.target, id, keys), o).body);
  }

  async batchProperties(items: PropertyBatchItem[], o?: CallOptions): Promise<Accepted> {
    return parseAccepted(this.send(buildBatchProperties(this.target, items), o).body);
  }

  async listSuppressions(o?: CallOptions): Promise<Suppression[]> {
    return parseSuppressions(this.send(buildListSuppressions(this.target), o).body);
  }

  async addSuppression(entry: SuppressionAdd, o?: CallOptions): Promise<void> {
    this.send(buildAddSuppression(this.target, entry), o);
  }

  async deleteSuppression(which: SuppressionDelete, o?: CallOptions): Promise<void> {
    this.send(buildDeleteSuppression(this.target, which), o);
  }
}

