/**
 * Retry policy and error translation for `HttpFynoClient`: which failures are retried, how
 * long to wait, and how a failure becomes a `FynoApiError` that never carries the key.
 *
 * PRODUCT.md ("Applying" → retries): 429, 5xx and network errors are retried with exponential
 * backoff and jitter, honouring `Retry-After`; a non-idempotent write whose result is unknown
 * is never blindly retried.
 */
import { codeForStatus, FynoApiError, type FynoApiErrorDetails } from './errors.js';
import type { ErrorCode } from '../errors.js';
import { parseBodyText, parseErrorMessage } from './wire-parse.js';

export interface RetryPolicy {
  /** Retries after the first attempt, for 5xx, timeouts and network errors. */
  limit: number;
  /**
   * Retries of 429 answers, counted apart from `limit` (default `DEFAULT_RATE_LIMIT_RETRIES`): a
   * refusal to go faster is not a failure, and the client slows down on it (issue #13 item 8).
   */
  rateLimitLimit?: number;
  /**
   * Of `limit`, at most this many retries when nothing answered at all (connection refused, no
   * such host: `NOT_SENT_ERROR_CODES`; default `DEFAULT_UNREACHABLE_RETRIES`): a wrong
   * FYNO_BASE_URL is reported in seconds, not after the minute the full backoff would take.
   */
  unreachableLimit?: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RATE_LIMIT_RETRIES = 20;

export const DEFAULT_UNREACHABLE_RETRIES = 4;

/**
 * 8 retries of a failure (9 attempts): with one request in five failing (a flaky network, the
 * bench's `--fail-rate 0.2`) a request gives up with p = 0.2^9 ≈ 5·10⁻⁷, so a run of thousands
 * of requests converges in one apply; with 5 it was 0.2^6 ≈ 6·10⁻⁵, and 1 run in 10 of 460
 * requests gave up reading live state (issue #13 item 8, bench/rate-limit-bench.ts).
 */
export const DEFAULT_RETRY: RetryPolicy = { limit: 8, rateLimitLimit: DEFAULT_RATE_LIMIT_RETRIES, baseDelayMs: 250, maxDelayMs: 30_000 };

/** 429 and every 5xx. */
function isRetryStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * Errors raised before a connection exists: the request cannot have reached Fyno, so even a
 * non-idempotent write may be sent again.
 */
export const NOT_SENT_ERROR_CODES: readonly string[] = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRINUSE'];

/** Every network error worth retrying for a request that is safe to repeat. */
export const RETRY_ERROR_CODES: readonly string[] = [
  ...NOT_SENT_ERROR_CODES,
  'ETIMEDOUT', // the attempt's timeout (transportErrorCode)
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
];

/** Retries spent so far by one call, per budget: 429 answers, and every other failure. */
export interface RetryCounts {
  rateLimited: number;
  failures: number;
}

/** What an attempt that did not succeed came back with. */
export interface AttemptFailure {
  status?: number;
  retryAfterHeader?: string | string[];
  /** Transport error code (`ECONNREFUSED`, `ETIMEDOUT`, `UND_ERR_SOCKET`…) when no answer came. */
  errorCode?: string;
}

/**
 * Delay in ms before retrying a failed attempt, or 0 for "do not retry"; counts the retry in
 * `counts`. `safe`: a read, or a write the caller marked idempotent; the rest are retried only
 * on 429 and on failures before a connection existed (nothing was sent). The budget is per
 * kind: 429s against `rateLimitLimit`, every other failure against `limit` (at most
 * `unreachableLimit` of them when nothing answered), each backing off on its own count.
 * `Retry-After` wins over backoff (an answer asking for longer than `maxDelayMs` ends the
 * call); otherwise exponential backoff with full jitter. Never 0 for a retry.
 */
export function nextRetryDelay(policy: RetryPolicy, f: AttemptFailure, safe: boolean, counts: RetryCounts, random: () => number = Math.random): number {
  const retryable =
    f.status !== undefined
      ? safe
        ? isRetryStatus(f.status)
        : f.status === 429
      : f.errorCode !== undefined && (safe ? RETRY_ERROR_CODES : NOT_SENT_ERROR_CODES).includes(f.errorCode);
  if (!retryable) return 0;
  const retryAfterS = f.status !== undefined ? parseRetryAfter(f.retryAfterHeader) : undefined;
  if (retryAfterS !== undefined && retryAfterS * 1000 > policy.maxDelayMs) return 0;
  let n: number;
  if (f.status === 429) {
    n = counts.rateLimited += 1;
    if (n > (policy.rateLimitLimit ?? DEFAULT_RATE_LIMIT_RETRIES)) return 0;
  } else {
    n = counts.failures += 1;
    const unreachable = f.errorCode !== undefined && NOT_SENT_ERROR_CODES.includes(f.errorCode);
    if (n > (unreachable ? Math.min(policy.limit, policy.unreachableLimit ?? DEFAULT_UNREACHABLE_RETRIES) : policy.limit)) return 0;
  }
  if (retryAfterS !== undefined) return Math.max(1, retryAfterS * 1000);
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  return Math.max(1, Math.floor(random() * cap));
}

/** undici's codes for a request that ran out of time, as one. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The code of a transport failure (Node's `ECONNREFUSED`…, undici's `UND_ERR_…`), the only
 * thing kept of it: its message may quote the URL and its options hold the headers.
 * Timeouts are `ETIMEDOUT`; a code that does not look like one is `undefined`.
 */
export function transportErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(code)) return undefined;
  return TIMEOUT_CODES.has(code) ? 'ETIMEDOUT' : code;
}

/** `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(v: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(v) ? v[0] : v;
  if (raw === undefined || raw.trim() === '') return undefined;
  // Fractional seconds too (not RFC 9110, but meant as seconds): Date.parse('1.5') is a date in 2001.
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Number(raw.trim());
  const t = Date.parse(raw);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/** What the client knows about a failed request, free of transport objects (and so of the key). */
export interface FailureFacts {
  method: string;
  path: string;
  attempts: number;
  timeoutMs: number;
  status?: number;
  bodyText?: string;
  retryAfterHeader?: string | string[];
  /** Transport error code for failures without a response. */
  errorCode?: string;
  aborted: boolean;
  /** The request was retried under the policy (a read, or a write marked idempotent). */
  retryable: boolean;
}

/** Remove every occurrence of `secret` from `s` (defence in depth: a server may echo headers). */
export function redact(s: string, secret: string): string {
  return secret === '' ? s : s.split(secret).join('***');
}

/** Build the `FynoApiError` for a failure. No `cause`: transport errors hold the Authorization header. */
export function toFynoApiError(f: FailureFacts, apiKey: string): FynoApiError {
  const isWrite = f.method !== 'GET';
  const attemptsNote = f.attempts > 1 ? ` (after ${f.attempts} attempts)` : '';
  let code: ErrorCode;
  let reason: string;
  let outcomeUnknown: boolean;
  let retryable: boolean;
  const details: Partial<FynoApiErrorDetails> = {};

  if (f.aborted) {
    code = 'apply.interrupted';
    reason = 'aborted';
    // Aborting after the request left may still let Fyno apply it.
    outcomeUnknown = isWrite && f.attempts > 0;
    retryable = false;
    details.aborted = true;
  } else if (f.status !== undefined) {
    const fynoMessage = parseErrorMessage(parseBodyText(f.bodyText));
    code = codeForStatus(f.status);
    reason = `${f.status}${fynoMessage !== undefined ? ` ${redact(fynoMessage, apiKey)}` : ''}`;
    if (fynoMessage !== undefined) details.fynoMessage = redact(fynoMessage, apiKey);
    retryable = f.status === 429 || f.status >= 500;
    // A 429 is a refusal; a 5xx may come from a gateway after the backend applied the write.
    outcomeUnknown = isWrite && f.status >= 500;
    const ra = parseRetryAfter(f.retryAfterHeader);
    if (ra !== undefined) details.retryAfterSeconds = ra;
  } else if (f.errorCode === 'ETIMEDOUT') {
    code = 'api.timeout';
    reason = `timed out after ${f.timeoutMs} ms`;
    retryable = true;
    outcomeUnknown = isWrite;
  } else {
    code = 'api.network';
    const c = f.errorCode !== undefined ? redact(f.errorCode, apiKey) : 'unknown error';
    reason = `network error ${c}`;
    retryable = true;
    outcomeUnknown = isWrite && !NOT_SENT_ERROR_CODES.includes(f.errorCode ?? '');
  }
  const hint = outcomeUnknown ? '; outcome unknown, re-read before retrying' : '';
  const message = `${f.method} ${f.path} ${f.aborted ? 'aborted' : `failed: ${reason}`}${attemptsNote}${hint}`;
  const api: FynoApiErrorDetails = {
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...details,
    method: f.method,
    path: f.path,
    retryable,
    outcomeUnknown,
    attempts: f.attempts,
  };
  return new FynoApiError(code, message, api);
}
