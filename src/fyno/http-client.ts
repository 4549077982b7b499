/**
 * `HttpFynoClient`: the `FynoApi` port over HTTP. Sends the `RequestSpec`s that wire.ts builds
 * through an undici `Pool` (one per client, keep-alive), parses answers with wire-parse.ts, and
 * turns every failure into a `FynoApiError` (http-retry.ts) that carries no transport object,
 * so the API key cannot leak through `cause`, options or a logged error.
 *
 * Why undici and not got (issue #17): on this kind of machine a bare GET to the emulator costs
 * the caller ~190 µs of CPU through got even with its options built once and no hooks
 * (`got.extend`), against ~50 µs through `undici.request` (bench/cpu-bench.ts); got alone is over
 * the 150 µs a request may cost in all. undici is Node's own HTTP client (the one under `fetch`).
 * What got did besides sending is policy we already owned (http-retry.ts: which failures are
 * retried, the two budgets, backoff, Retry-After), so the loop in `#send` runs that policy.
 * undici's own RetryHandler is not used: it retries inside the dispatcher, where the shared
 * rate (adaptive-rate.ts) cannot hold an attempt back and `onRequest` cannot see it.
 *
 * Retries (PRODUCT.md "Applying" → Retries): reads, and writes the caller marks
 * `idempotent: true`, are retried on 429, 5xx, timeouts and network errors. Any other write is
 * retried only when the failure proves it was not applied — 429 (a refusal) or a connection
 * that never opened — and never when its outcome is unknown. 429 answers have a retry budget of
 * their own (`RetryPolicy.rateLimitLimit`), apart from the one of real failures, and lower the
 * sending rate (adaptive-rate.ts) that every call shares (issue #13 item 8).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildConnector, Pool, type Dispatcher } from 'undici';
import { AdaptiveRate } from './adaptive-rate.js';
import { checkBaseUrl, missingVersionHint } from './base-url.js';
import { FynoApiError } from './errors.js';
import { DEFAULT_RETRY, nextRetryDelay, parseRetryAfter, toFynoApiError, transportErrorCode, type AttemptFailure, type FailureFacts, type RetryCounts, type RetryPolicy } from './http-retry.js';
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
import { parseErrorMessage } from './wire-parse.js';
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

/** A socket as the connector hands it back: enough to close it. */
interface Connecting {
  destroy(): void;
}

/** Rejects once `signal` aborts. */
function abortOf(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

/** Waits `ms`; false if `signal` aborted the wait. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await (signal === undefined ? sleep(ms) : sleep(ms, undefined, { signal }));
    return true;
  } catch {
    return false;
  }
}

/** `#send`'s answer for "no such profile" when the caller takes it as an answer. */
const MISSING: unique symbol = Symbol('missing profile');

/** What one attempt came back with: an answer, or the code of the failure that stopped it. */
interface Attempt extends AttemptFailure {
  text?: string;
}

/** `FynoApi` over HTTP. Throws only `FynoApiError`. */
export class HttpFynoClient implements FynoApi {
  readonly target: Target;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #onRequest: ((info: RequestInfo) => void) | undefined;
  readonly #random: () => number;
  readonly #rate: AdaptiveRate;
  /** Keep-alive connections to the base URL's origin; redirects are never followed. */
  readonly #pool: Pool;
  /**
   * Connections still being opened, and attempts under way: once none is, nobody waits for those
   * connections and they are closed (#attempt), or a connect that never answers would hold the
   * process open until undici's connect timeout.
   */
  readonly #connecting = new Set<Connecting>();
  #inFlight = 0;
  /** The base URL's path (`/v1`), which every request path starts with. */
  readonly #basePath: string;
  /** Request headers, built once: for requests without a body and for JSON bodies. */
  readonly #headers: Record<string, string>;
  readonly #jsonHeaders: Record<string, string>;
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
    this.#onRequest = opts.onRequest;
    this.#random = opts.random ?? Math.random;
    this.#rate = new AdaptiveRate({ ...(opts.rps !== undefined ? { rps: opts.rps } : {}), ...(opts.minRps !== undefined ? { floor: opts.minRps } : {}) });
    const url = new URL(this.target.baseUrl);
    this.#basePath = url.pathname === '/' ? '' : url.pathname;
    // Our own timer per attempt bounds it (undici's coarse timers would let 100 ms run to 1 s).
    // Connecting too (#attempt): undici's connect timeout, 10 s by default, cut a longer attempt
    // short; as long as the attempt, it only ends a connection nobody waits for any more.
    const connect = buildConnector({ timeout: this.#timeoutMs });
    this.#pool = new Pool(url.origin, {
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (o, callback) => {
        let done = false;
        let socket: Connecting | undefined;
        // undici's connector returns the socket it connects (its types say void).
        socket = connect(o, (error, s) => {
          done = true;
          if (socket) this.#connecting.delete(socket);
          callback(error, s as never);
        }) as unknown as Connecting | undefined;
        if (!done && socket) this.#connecting.add(socket);
      },
    });
    this.#headers = { authorization: `Bearer ${opts.apiKey}`, accept: 'application/json', 'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT };
    this.#jsonHeaders = { ...this.#headers, 'content-type': 'application/json' };
  }

  /** The sending rate now, requests per second (`Infinity` while unpaced). */
  get sendingRate(): number {
    return this.#rate.rate;
  }

  /** Closes the kept-alive connections (idle ones never hold the process open). */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  /** Keeps the key out of `util.inspect(client)` and `JSON.stringify(client)`. */
  toJSON(): { target: Target } {
    return { target: this.target };
  }

  /** A 404 from a base URL without /v1 says so (issue #16): every path is missing there. */
  #withBaseUrlHint(error: FynoApiError): FynoApiError {
    const hint = error.api.status === 404 ? this.#baseUrlHint : undefined;
    return hint ? new FynoApiError(error.code, `${error.message}: ${hint}`, error.api) : error;
  }

  /**
   * One attempt: its answer read to the end, or what stopped it. Bounded by the timeout from
   * sending to the end of the body; the caller's abort ends it too (`signal.aborted` then).
   */
  async #attempt(method: Dispatcher.HttpMethod, path: string, body: string | undefined, signal: AbortSignal | undefined): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort);
    this.#inFlight += 1;
    let answered = false;
    try {
      const pending = this.#pool.request({
        path: this.#basePath + path,
        method,
        headers: body === undefined ? this.#headers : this.#jsonHeaders,
        ...(body !== undefined ? { body } : {}),
        signal: controller.signal,
      });
      // undici holds an abort until the request has a connection (it is then not sent): an
      // attempt still connecting must end on its timeout or the caller's abort all the same.
      const res = await Promise.race([pending, abortOf(controller.signal)]).catch((e: unknown) => {
        pending.then((r) => r.body.dump(), () => undefined);
        throw e;
      });
      answered = true;
      const text = await res.body.text();
      return { status: res.statusCode, text, retryAfterHeader: res.headers['retry-after'] };
    } catch (error) {
      if (timedOut) return { errorCode: 'ETIMEDOUT' };
      // A body cut short by a closing connection is UND_ERR_RES_CONTENT_LENGTH_MISMATCH or an
      // HTTPParserError without a code for undici, whatever the framing: one code, retried for a
      // read like the reset it is, a write's outcome unknown.
      if (answered) return { errorCode: 'ERR_STREAM_PREMATURE_CLOSE' };
      return { errorCode: transportErrorCode(error) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#inFlight -= 1;
      if (this.#inFlight === 0) for (const socket of this.#connecting) socket.destroy();
    }
  }

  /**
   * Send one spec, retrying as the policy says; returns the parsed body of a 2xx answer.
   * `missingIsAnswer`: Fyno's "no such profile" answer (below) is returned as `MISSING` instead
   * of thrown: a migration reads 100,000 absent profiles, and an error each (a stack trace, a
   * message) was a tenth of the client's CPU per request there (issue #17).
   */
  async #send(spec: RequestSpec, o: CallOptions | undefined, missingIsAnswer = false): Promise<unknown> {
    const path = wire.pathWithQuery(spec);
    const signal = o?.signal;
    const safe = spec.method === 'GET' || o?.idempotent === true;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const counts: RetryCounts = { rateLimited: 0, failures: 0 };
    let attempts = 0;
    const facts = (extra: Partial<FailureFacts>): FailureFacts => ({
      method: spec.method,
      path,
      attempts,
      timeoutMs: this.#timeoutMs,
      aborted: false,
      retryable: safe,
      ...extra,
    });
    const aborted = (): FynoApiError => toFynoApiError(facts({ aborted: true }), this.#apiKey);

    for (;;) {
      if (signal?.aborted) throw aborted();
      const wait = this.#rate.reserve();
      if (wait > 0 && !(await pause(wait, signal))) throw aborted();
      const sentAt = this.#rate.now();
      attempts += 1;
      const startedAt = Date.now();
      const a = await this.#attempt(spec.method, path, body, signal);
      if (a.status === 429) {
        const ra = parseRetryAfter(a.retryAfterHeader);
        this.#rate.onRateLimited(sentAt, ra === undefined ? undefined : ra * 1000);
      } else if (a.status !== undefined) {
        this.#rate.onSuccess(wait);
      }
      this.#report(spec, path, attempts, startedAt, a.status);
      if (a.status === undefined && signal?.aborted) throw aborted();
      if (a.status !== undefined && a.status >= 200 && a.status <= 299) return wire.parseBodyText(a.text);
      if (missingIsAnswer && a.status !== undefined && this.#isMissingProfile(a.status, a.text)) return MISSING;

      const delay = nextRetryDelay(this.#retry, a, safe, counts, this.#random);
      if (delay === 0) {
        const error = toFynoApiError(
          facts(a.status !== undefined ? { status: a.status, bodyText: a.text, retryAfterHeader: a.retryAfterHeader } : a.errorCode !== undefined ? { errorCode: a.errorCode } : {}),
          this.#apiKey,
        );
        throw a.status !== undefined ? this.#withBaseUrlHint(error) : error;
      }
      if (!(await pause(delay, signal))) throw aborted();
    }
  }

  #report(spec: RequestSpec, path: string, attempt: number, startedAt: number, status: number | undefined): void {
    if (this.#onRequest === undefined) return;
    const info: RequestInfo = { method: spec.method, route: spec.route, path, attempt, ms: Date.now() - startedAt };
    if (status !== undefined) info.status = status;
    try {
      this.#onRequest(info);
    } catch {
      // An observer's bug must not turn into a failed (or retried) request.
    }
  }

  /**
   * Fyno answers 400 `incorrect/non existing distinct_id provided` (spec `DistinctIDDoesNotExist`)
   * rather than 404 for an unknown profile; both mean "no such profile". Except a 404 for a base
   * URL without /v1: every path is missing there, not the profile.
   */
  #isMissingProfile(status: number, text: string | undefined): boolean {
    if (status === 404 && this.#baseUrlHint !== undefined) return false;
    return (status === 400 || status === 404) && wire.isMissingProfileAnswer(status, parseErrorMessage(wire.parseBodyText(text)));
  }

  async getProfile(id: DistinctId, o?: CallOptions): Promise<ActualProfile | null> {
    const body = await this.#send(wire.buildGetProfile(this.target, id), o, true);
    return body === MISSING ? null : wire.parseProfile(body, id);
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
