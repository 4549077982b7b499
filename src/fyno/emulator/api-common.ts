/**
 * Shared request/response shapes of the emulator's request-handling core.
 * The HTTP server and MemoryFyno both go through `handleApi` (core.ts) with these types.
 */
import type { Env, FynoStore, Space } from './store.js';

export interface ApiRequest {
  method: string;
  /** Path below `/v1`, split on `/` and URI-decoded, e.g. `['FY1', 'live', 'profiles', 'u1']`. */
  segments: string[];
  query: Record<string, string>;
  /** Parsed JSON body, `undefined` when there was none. */
  body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** Everything a handler needs: the store, the clock (fixed per request), the target. */
export interface Ctx {
  store: FynoStore;
  /** ISO timestamp of this request; fixed so that WAL replay is deterministic. */
  now: string;
  workspace: string;
  env: Env;
  space: Space;
}

export type Params = Record<string, string>;
export type Handler = (ctx: Ctx, req: ApiRequest, params: Params) => Reply;

/** Fyno's error shape: `{ _message, status: "error" }` (components/responses/*, e.g. APIKeyInvalid). */
export function fail(status: number, message: string): Reply {
  return { status, body: { _message: message, status: 'error' } };
}

export function ok(status: number, message: string): Reply {
  return { status, body: { _message: message, status: 'ok' } };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

export const MSG = {
  notExisting: 'incorrect/non existing distinct_id provided',
  updateMissing: 'Unable to update the record since the record does not exist',
  deleteMissing: 'Cannot delete non existing user',
  mergeMissing: 'merge from id does not exist',
  channelMissing: 'Unable to delete channel since the channel does not exist',
  distinctIdRequired: 'distinct_id is required!',
  prefDistinctIdRequired: 'distinct_id is required to list preference!',
  invalidApi: 'Invalid API details',
  exists: (id: string, env: Env) => `Distinct ID '${id}' already exists in the '${env}' version of your workspace`,
} as const;
