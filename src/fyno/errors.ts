import { FynoSyncError, type ErrorCode } from '../errors.js';

export interface FynoApiErrorDetails {
  /** HTTP status, absent for network errors and timeouts. */
  status?: number;
  /** Fyno's `_message` from the error body, when there was one. */
  fynoMessage?: string;
  method: string;
  /** Path relative to the base URL, e.g. `/FY123/live/profiles/cust-1`. Never contains the key. */
  path: string;
  /** 429, 5xx, timeouts and network errors. */
  retryable: boolean;
  /** True when the request may have reached Fyno and been applied (timeout, reset, lost response). */
  outcomeUnknown: boolean;
  /** Seconds from `Retry-After`, when the server sent it. */
  retryAfterSeconds?: number;
  attempts: number;
  /** True when the caller's `AbortSignal` ended the request (code `apply.interrupted`). */
  aborted?: boolean;
}

/** The only error `HttpFynoClient` and `MemoryFyno` throw. */
export class FynoApiError extends FynoSyncError {
  readonly isFynoApiError = true;
  constructor(code: ErrorCode, message: string, readonly api: FynoApiErrorDetails, options?: ErrorOptions) {
    super(code, message, { ...api }, options);
    this.name = 'FynoApiError';
  }
}

export function isFynoApiError(e: unknown): e is FynoApiError {
  return typeof e === 'object' && e !== null && (e as { isFynoApiError?: unknown }).isFynoApiError === true;
}

/**
 * Fyno refused a create because the distinct_id exists (400 `DistinctIDAlreadyExists`,
 * fyno-manage-user-profiles-api-openapi.yml `POST /{WSID}/{version}/profiles`): "Distinct ID 'x'
 * already exists in the 'live' version of your workspace".
 */
export function isAlreadyExists(e: unknown): boolean {
  return isFynoApiError(e) && e.api.status === 400 && /already exists/i.test(e.api.fynoMessage ?? e.message);
}

/** Error code for an HTTP status from Fyno. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'api.unauthorized';
  if (status === 404) return 'api.not_found';
  if (status === 429) return 'api.rate_limited';
  if (status >= 500) return 'api.server_error';
  return 'api.bad_request';
}
