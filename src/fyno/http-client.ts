/**
 * `HttpFynoClient`: the `FynoApi` port over HTTP with got. Sends the `RequestSpec`s that
 * wire.ts builds, parses answers with wire-parse.ts, and turns every failure into a
 * `FynoApiError` (http-retry.ts) that carries no got object, so the API key cannot leak
 * through `cause`, `options.headers` or a logged error.
 *
 * Retries (PRODUCT.md "Applying" → Retries): reads, and writes the caller marks
 * `idempotent: true`, are retried on 429, 5xx, timeouts and network errors. Any other write is
 * retried only when the failure proves it was not applied — 429 (a refusal) or a connection
 * that never opened — and never when its outcome is unknown. 429 answers have a retry budget of
 * their own (`RetryPolicy.rateLimitLimit`), apart from the one of real failures, and lower the
 * sending rate (adaptive-rate.ts) that every call shares (issue #13 item 8).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import got, { HTTPError, type Method, type Response, type RetryObject, type RetryOptions } from 'got';
import { AdaptiveRate } from './adaptive-rate.js';
import { checkBaseUrl, missingVersionHint } from './base-url.js';
import { FynoApiError } from './errors.js';
import {
  DEFAULT_RETRY,
  DEFAULT_UNREACHABLE_RETRIES,
  DEFAULT_RATE_LIMIT_RETRIES,
  NOT_SENT_ERROR_CODES,
  parseRetryAfter,
  RETRY_ERROR_CODES,
  RETRY_STATUSES,
  retryDelay,
  toFynoApiError,
  type FailureFacts,
  type RetryPolicy,
} from './http-retry.js';
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
import * as wire from './wire.js';
import type { RequestSpec } from './wire.js';

/** One HTTP attempt, reported after it ends (also for attempts that are retried). */
export interface RequestInfo {
  method: string;
  /** The spec's path template, e.g. `/{WSID}/{version}/profiles/{distinct_id}`. */
  route: string;
  /** Path with query string, relative to the base URL. Never contains the key. */
  path: string;
  /** HTTP status, absent when no response arrived (timeout, network error, abort). */
  status?: number;
  /** 1 for the first attempt. */
  attempt: number;
  ms: number;
}

export interface HttpFynoClientOptions {
  target: Target;
  apiKey: string;
  /** Per attempt, from sending to the end of the response body. Default 30 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /**
   * Global request rate (attempts per second, retries included) shared by every call: the
   * ceiling the adaptive rate climbs back to after 429s lowered it. Absent: unpaced until a 429.
   */
  rps?: number;
  /** Lowest rate 429 answers bring the sending rate down to, requests per second (default 0.5). */
  minRps?: number;
  userAgent?: string;
  /** Called after every attempt: metrics, progress, tests. What it throws is ignored. */
  onRequest?: (info: RequestInfo) => void;
  /** Jitter source, for deterministic tests. */
  random?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_USER_AGENT = 'fyno-sync (+https://github.com/fyno-sync)';

const ALL_METHODS: Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Wait `ms` for a rate slot; an abort ends the wait (nothing was sent yet). */
async function waitSlot(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await sleep(ms);
    return;
  }
  signal.throwIfAborted();
  await sleep(ms, undefined, { signal });
}

interface CallState {
  attempts: number;
  reported: number;
  startedAt: number;
  /** Rate-limiter clock when the current attempt left, and how long its slot made it wait. */
  sentAt: number;
  waited: number;
  /** Retries spent so far on 429 answers, and on every other failure: two budgets. */
  rateLimited: number;
  failures: number;
}

/** What a got hook sees of our per-call state (`options.context`). */
interface CallContext {
  call?: CallState;
}

/** `FynoApi` over HTTP. Throws only `FynoApiError`. */
export class HttpFynoClient implements FynoApi {
  readonly target: Target;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #userAgent: string;
  readonly #onRequest: ((info: RequestInfo) => void) | undefined;
  readonly #random: () => number;
  readonly #rate: AdaptiveRate;
  /** got retry options, built once: for requests safe to repeat, and for the others. */
  readonly #retrySafe: Partial<RetryOptions>;
  readonly #retryUnsafe: Partial<RetryOptions>;
  /** Said with every 404 when the base URL has no /v1 (issue #16): every path is missing there. */
  readonly #baseUrlHint: string | undefined;

  constructor(opts: HttpFynoClientOptions) {
    // Checked again here so a hand-built Target cannot send the key over plain HTTP.
    this.target = { ...opts.target, baseUrl: checkBaseUrl(opts.target.baseUrl, 'baseUrl') };
    this.#baseUrlHint = missingVersionHint(this.target.baseUrl);
    if (/[\r\n]/.test(opts.apiKey)) throw new RangeError('apiKey contains a line break');
    this.#apiKey = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retry = opts.retry ?? DEFAULT_RETRY;
    this.#userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.#onRequest = opts.onRequest;
    this.#random = opts.random ?? Math.random;
    this.#rate = new AdaptiveRate({ ...(opts.rps !== undefined ? { rps: opts.rps } : {}), ...(opts.minRps !== undefined ? { floor: opts.minRps } : {}) });
    const rateLimitLimit = this.#retry.rateLimitLimit ?? DEFAULT_RATE_LIMIT_RETRIES;
    const shared = {
      // got counts every retry against one limit; the two budgets are kept in #retryDelay.
      limit: this.#retry.limit + rateLimitLimit,
      methods: ALL_METHODS,
      // A longer Retry-After than we are willing to wait ends the request (details carry it).
      maxRetryAfter: this.#retry.maxDelayMs,
      calculateDelay: (r: RetryObject) => this.#retryDelay(r, rateLimitLimit),
    };
    this.#retrySafe = { ...shared, statusCodes: [...RETRY_STATUSES], errorCodes: [...RETRY_ERROR_CODES] };
    this.#retryUnsafe = { ...shared, statusCodes: [429], errorCodes: [...NOT_SENT_ERROR_CODES] };
  }

  /** The sending rate now, requests per second (`Infinity` while unpaced). */
  get sendingRate(): number {
    return this.#rate.rate;
  }

  /** Keeps the key out of `util.inspect(client)` and `JSON.stringify(client)`. */
  toJSON(): { target: Target } {
    return { target: this.target };
  }

  /**
   * Delay before a retry, or 0 for none. got's rules (method, status, error code, Retry-After
   * cap) gave `computedValue`; the budget is per kind: 429s count against `rateLimitLimit`,
   * every other failure against `limit`, and each backs off on its own count.
   */
  #retryDelay(r: RetryObject, rateLimitLimit: number): number {
    const call = (r.error.options.context as CallContext).call;
    if (r.computedValue === 0 || call === undefined) return 0;
    let n: number;
    if (r.error.response?.statusCode === 429) {
      n = call.rateLimited += 1;
      if (n > rateLimitLimit) return 0;
    } else {
      n = call.failures += 1;
      const unreachable = NOT_SENT_ERROR_CODES.includes(r.error.code);
      if (n > (unreachable ? Math.min(this.#retry.limit, this.#retry.unreachableLimit ?? DEFAULT_UNREACHABLE_RETRIES) : this.#retry.limit)) return 0;
    }
    return retryDelay(this.#retry, { attemptCount: n, computedValue: r.computedValue, retryAfter: r.retryAfter }, this.#random);
  }

  /** A 404 from a base URL without /v1 says so (issue #16): every path is missing there. */
  #withBaseUrlHint(error: FynoApiError): FynoApiError {
    const hint = error.api.status === 404 ? this.#baseUrlHint : undefined;
    return hint ? new FynoApiError(error.code, `${error.message}: ${hint}`, error.api) : error;
  }

  /** Send one spec; returns the parsed body of a 2xx answer. */
  async #send(spec: RequestSpec, o: CallOptions | undefined): Promise<unknown> {
    const path = wire.pathWithQuery(spec);
    const signal = o?.signal;
    const state: CallState = { attempts: 0, reported: 0, startedAt: 0, sentAt: 0, waited: 0, rateLimited: 0, failures: 0 };
    const report = (status: number | undefined): void => {
      if (this.#onRequest === undefined || state.reported >= state.attempts) return;
      state.reported = state.attempts;
      const info: RequestInfo = { method: spec.method, route: spec.route, path, attempt: state.attempts, ms: Date.now() - state.startedAt };
      if (status !== undefined) info.status = status;
      try {
        this.#onRequest(info);
      } catch {
        // An observer's bug must not turn into a failed (or retried) request.
      }
    };
    const facts = (extra: Partial<FailureFacts>): FailureFacts => ({
      method: spec.method,
      path,
      attempts: state.attempts,
      timeoutMs: this.#timeoutMs,
      aborted: false,
      retryable: spec.method === 'GET' || o?.idempotent === true,
      ...extra,
    });

    if (signal?.aborted) throw toFynoApiError(facts({ aborted: true }), this.#apiKey);
    try {
      const response: Response<string> = await got(`${this.target.baseUrl}${path}`, {
        method: spec.method,
        ...(spec.body !== undefined ? { json: spec.body } : {}),
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          accept: 'application/json',
          'user-agent': this.#userAgent,
        },
        responseType: 'text',
        throwHttpErrors: true,
        // A redirect could carry the key to another host; Fyno does not redirect its API.
        followRedirect: false,
        timeout: { request: this.#timeoutMs },
        retry: spec.method === 'GET' || o?.idempotent === true ? this.#retrySafe : this.#retryUnsafe,
        context: { call: state } satisfies CallContext,
        ...(signal !== undefined ? { signal } : {}),
        hooks: {
          beforeRequest: [
            async () => {
              const wait = this.#rate.reserve();
              if (wait > 0) await waitSlot(wait, signal);
              state.waited = wait;
              state.sentAt = this.#rate.now();
              state.attempts += 1;
              state.startedAt = Date.now();
            },
          ],
          afterResponse: [
            (res) => {
              if (res.statusCode === 429) {
                const ra = parseRetryAfter(res.headers['retry-after']);
                this.#rate.onRateLimited(state.sentAt, ra === undefined ? undefined : ra * 1000);
              } else {
                this.#rate.onSuccess(state.waited);
              }
              report(res.statusCode);
              return res;
            },
          ],
          beforeRetry: [
            (error) => {
              report(error.response?.statusCode);
            },
          ],
        },
      });
      // 3xx are not followed and not errors for got: treat them as the failures they are.
      if (response.statusCode < 200 || response.statusCode > 299) {
        throw this.#withBaseUrlHint(toFynoApiError(facts({ status: response.statusCode, bodyText: response.body }), this.#apiKey));
      }
      return wire.parseBodyText(response.body);
    } catch (error) {
      if (error instanceof FynoApiError) throw error;
      const e = error as { code?: unknown; name?: unknown };
      if (signal?.aborted || e.code === 'ERR_ABORTED' || e.name === 'AbortError' || e.name === 'CancelError') {
        report(undefined);
        throw toFynoApiError(facts({ aborted: true }), this.#apiKey);
      }
      if (error instanceof HTTPError) {
        const res = error.response as Response<unknown>;
        throw this.#withBaseUrlHint(
          toFynoApiError(
            facts({
              status: res.statusCode,
              bodyText: typeof res.body === 'string' ? res.body : undefined,
              retryAfterHeader: res.headers['retry-after'],
            }),
            this.#apiKey,
          ),
        );
      }
      report(undefined);
      // Only the code is kept: got's message may quote the URL, its options hold the headers.
      const code = typeof e.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(e.code) ? e.code : undefined;
      throw toFynoApiError(facts(code !== undefined ? { errorCode: code } : {}), this.#apiKey);
    }
  }

  async getProfile(id: DistinctId, o?: CallOptions): Promise<ActualProfile | null> {
    try {
      return wire.parseProfile(await this.#send(wire.buildGetProfile(this.target, id), o), id);
    } catch (error) {
      // Fyno answers 400 `incorrect/non existing distinct_id provided` (spec
      // `DistinctIDDoesNotExist`) rather than 404; both mean "no such profile".
      // Except a 404 for a base URL without /v1: every path is missing there, not the profile.
      const wrongBase = error instanceof FynoApiError && error.api.status === 404 && this.#baseUrlHint !== undefined;
      if (!wrongBase && error instanceof FynoApiError && error.api.status !== undefined && wire.isMissingProfileAnswer(error.api.status, error.api.fynoMessage)) {
        return null;
      }
      throw error;
    }
  }

  async createProfile(profile: ProfileCreate, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildCreateProfile(this.target, profile), o);
  }

  async updateProfile(id: DistinctId, fields: ProfileUpdate, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildUpdateProfile(this.target, id, fields), o);
  }

  async deleteProfiles(ids: DistinctId[], o?: CallOptions): Promise<void> {
    await this.#send(wire.buildDeleteProfiles(this.target, ids), o);
  }

  async mergeProfile(source: DistinctId, target: DistinctId, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildMergeProfile(this.target, source, target), o);
  }

  async upsertChannels(id: DistinctId, channels: Channels, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildUpsertChannels(this.target, id, channels), o);
  }

  async deleteChannels(id: DistinctId, channels: ChannelName[], o?: CallOptions): Promise<void> {
    await this.#send(wire.buildDeleteChannels(this.target, id, channels), o);
  }

  async deleteTokens(id: DistinctId, tokens: { push?: string[]; inapp?: string[] }, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildDeleteTokens(this.target, id, tokens), o);
  }

  async getPreferences(id: DistinctId, o?: CallOptions): Promise<ActualPreferences> {
    return wire.parsePreferences(await this.#send(wire.buildGetPreferences(this.target, id), o));
  }

  async setPreferences(id: DistinctId, update: PreferenceUpdate, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildSetPreferences(this.target, id, update), o);
  }

  async setPreference(id: DistinctId, topic: string, channel: PreferenceChannel, status: PreferenceStatus, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildSetPreference(this.target, id, topic, channel, status), o);
  }

  async setProperties(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildSetProperties(this.target, id, values), o));
  }

  async setPropertiesOnce(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildSetPropertiesOnce(this.target, id, values), o));
  }

  async addToProperties(id: DistinctId, values: Record<string, number>, o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildAddToProperties(this.target, id, values), o));
  }

  async appendToProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildAppendToProperties(this.target, id, values), o));
  }

  async removeFromProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildRemoveFromProperties(this.target, id, values), o));
  }

  async unsetProperties(id: DistinctId, keys: string[], o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildUnsetProperties(this.target, id, keys), o));
  }

  async batchProperties(items: PropertyBatchItem[], o?: CallOptions): Promise<Accepted> {
    return wire.parseAccepted(await this.#send(wire.buildBatchProperties(this.target, items), o));
  }

  async listSuppressions(o?: CallOptions): Promise<Suppression[]> {
    return wire.parseSuppressions(await this.#send(wire.buildListSuppressions(this.target), o));
  }

  async addSuppression(entry: SuppressionAdd, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildAddSuppression(this.target, entry), o);
  }

  async deleteSuppression(which: SuppressionDelete, o?: CallOptions): Promise<void> {
    await this.#send(wire.buildDeleteSuppression(this.target, which), o);
  }
}
