/**
 * The request-handling core: one function from (store, request, clock) to a reply, shared by the
 * HTTP server and MemoryFyno so that they cannot diverge. Pure with respect to I/O; all state
 * lives in the FynoStore and every generated id comes from the store's counter, so replaying
 * the same requests with the same clock values rebuilds the same state (persistence.ts).
 */
import { messageOf } from '../../errors.js';
import { fail, type ApiRequest, type Ctx, type Handler, type Params, type Reply } from './api-common.js';
import { createProfile, deleteChannels, deleteProfiles, getProfile, mergeProfiles, patchChannels, updateProfile } from './api-profiles.js';
import { getPreferences, postPreference, putPreferences } from './api-preferences.js';
import { batchProperties, PROPERTY_ENDPOINTS, singlePropertyEndpoint } from './api-properties.js';
import { addSuppression, deleteSuppression, listSuppressions } from './api-misc.js';
import { fireBulkEvent, fireEvent } from './api-events.js';
import { validateOtp } from './api-verify.js';
import type { Env, FynoStore } from './store.js';

interface Route {
  method: string;
  /** Template below /v1 as in the spec, e.g. `/{WSID}/{version}/profiles/{distinct_id}`. */
  template: string;
  parts: string[];
  handler: Handler;
}

function route(method: string, template: string, handler: Handler): Route {
  return { method, template, parts: template.split('/').filter(Boolean), handler };
}

const P = '/{WSID}/{version}/profiles';
const props = Object.entries(PROPERTY_ENDPOINTS).map(([name, action]) => route('POST', `${P}/properties/${name}`, singlePropertyEndpoint(action)));

/** Literal routes first so that `/profiles/delete` is not read as a profile id. */
const ROUTES: Route[] = [
  route('GET', '/{WSID}/suppressions', (c) => listSuppressions(c)),
  route('POST', '/{WSID}/suppressions', addSuppression),
  route('DELETE', '/{WSID}/suppressions', deleteSuppression),
  route('POST', '/{WSID}/{version}/event', fireEvent),
  route('POST', '/{WSID}/{version}/event/bulk', fireBulkEvent),
  route('POST', '/{WSID}/{version}/verify/validate', validateOtp),
  route('POST', P, createProfile),
  route('POST', `${P}/delete`, deleteProfiles),
  ...props,
  route('POST', `${P}/properties/batch`, batchProperties),
  route('GET', '/{WSID}/{version}/subscriptions/preference', getPreferences),
  route('PUT', '/{WSID}/{version}/subscriptions/preference', putPreferences),
  route('POST', '/{WSID}/{version}/subscriptions/list/{subscription_id}/user', postPreference),
  route('GET', `${P}/{distinct_id}`, getProfile),
  route('PUT', `${P}/{distinct_id}`, updateProfile),
  route('PATCH', `${P}/{source_distinct_id}/merge/{target_distinct_id}`, mergeProfiles),
  route('PATCH', `${P}/{distinct_id}/channel`, patchChannels),
  route('POST', `${P}/{distinct_id}/channel/delete`, deleteChannels),
];

export interface RouteMatch {
  route: Route;
  params: Params;
}

function matchParts(parts: string[], segments: string[]): Params | null {
  if (parts.length !== segments.length) return null;
  const params: Params = {};
  for (let i = 0; i < parts.length; i += 1) {
    const p = parts[i]!;
    const s = segments[i]!;
    if (p.startsWith('{')) {
      if (s === '') return null;
      params[p.slice(1, -1)] = s;
    } else if (p !== s) return null;
  }
  return params;
}

/**
 * The route for a method and path, or null (→ 404). One trailing slash is accepted on every
 * route: Fyno's own Node SDK creates profiles with `POST …/profiles/` and expects 201 (issue #15);
 * Express, which Fyno's 404 wording shows it runs on, routes non-strictly by default.
 */
export function matchRoute(method: string, segments: string[]): RouteMatch | null {
  const path = segments.length > 1 && segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const params = matchParts(r.parts, path);
    if (params) return { route: r, params };
  }
  return null;
}

/** Template used for stats, also for unmatched paths (`<unmatched>`). */
export function routeTemplate(method: string, segments: string[]): string {
  const m = matchRoute(method, segments);
  return `${method} ${m ? m.route.template : '<unmatched>'}`;
}

export function notFound(method: string, path: string): Reply {
  return fail(404, `Cannot ${method} ${path}`);
}

/**
 * Handle one API request. Never throws: a bug answers 500 in Fyno's error shape. The caller
 * checks `store.mutations` before/after to know whether the request changed state.
 */
export function handleApi(store: FynoStore, req: ApiRequest, now: string): Reply {
  const m = matchRoute(req.method, req.segments);
  if (!m) return notFound(req.method, `/v1/${req.segments.map(encodeURIComponent).join('/')}`);
  const workspace = m.params.WSID!;
  let env: Env = 'live';
  if (m.route.template.includes('{version}')) {
    const v = m.params.version;
    if (v !== 'live' && v !== 'test') return fail(400, `Invalid version '${String(v)}', allowed values are live or test`);
    env = v;
  }
  const ctx: Ctx = { store, now, workspace, env, space: store.space(workspace, env) };
  try {
    return m.route.handler(ctx, req, m.params);
  } catch (e) {
    return fail(500, `Internal emulator error: ${messageOf(e)}`);
  }
}
