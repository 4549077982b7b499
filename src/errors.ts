/**
 * Errors: a stable code, one plain line of text, JSON-safe details, an optional cause.
 * Messages never contain ANSI colour or secrets (API key, push tokens, env-sourced values).
 */
export type ErrorCode =
  | 'config.invalid' // bad flags, missing target settings, unsafe base URL
  | 'config.missing_api_key'
  | 'desired.invalid' // validation of YAML desired state failed
  | 'desired.io' // a path could not be read
  | 'plan.invalid' // a plan file is malformed or of another format_version
  | 'plan.stale' // live state drifted since the plan was computed
  | 'plan.target_mismatch' // a saved plan is for another base URL / workspace / env
  | 'plan.conflict' // desired state asks for something Fyno refuses (e.g. a `required` channel)
  | 'apply.needs_confirmation' // no TTY and no --yes
  | 'apply.delete_refused' // deletes without --allow-delete or above --max-deletes
  | 'apply.failed' // one or more operations failed
  | 'apply.interrupted'
  | 'apply.journal' // journal missing/corrupt/for another plan, or a resume whose desired files changed
  | 'apply.locked' // another apply holds the state directory's lock
  | 'import.invalid'
  | 'import.rejected' // rows rejected (without --allow-rejects)
  | 'pull.invalid' // pull: bad ids, an output directory in the way, or live values desired state cannot hold
  | 'git.error'
  | 'demo.failed' // a step of `fyno-sync demo` did not do what it should
  | 'api.unauthorized'
  | 'api.not_found'
  | 'api.bad_request'
  | 'api.rate_limited'
  | 'api.server_error'
  | 'api.network'
  | 'api.timeout'
  | 'internal';

export type ErrorDetails = Record<string, unknown>;

export class FynoSyncError extends Error {
  readonly isFynoSyncError = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'FynoSyncError';
  }
}

/** A bug in fyno-sync itself: shown as "please report", with the stack only under --debug. */
export class InternalError extends FynoSyncError {
  constructor(message: string, options?: ErrorOptions) {
    super('internal', message, {}, options);
    this.name = 'InternalError';
  }
}

/** Brand check by property, not `instanceof`, so copies of the package interoperate. */
export function isFynoSyncError(e: unknown): e is FynoSyncError {
  return typeof e === 'object' && e !== null && (e as { isFynoSyncError?: unknown }).isFynoSyncError === true;
}

/** Exhaustiveness helper for `switch (x.type)`. */
export function assertNever(x: never): never {
  throw new InternalError(`unexpected value ${JSON.stringify(x)}`);
}

/** The message of anything thrown (an `Error`'s message, else its string form). */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
