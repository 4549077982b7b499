/**
 * Admin API under `/_emulator/` (not part of Fyno; no auth, the emulator listens on loopback):
 *
 * - `GET  /_emulator/health`       → `{ status: "ok" }`
 * - `POST /_emulator/reset`        → empties all state and request counts
 * - `POST /_emulator/seed`         → SeedInput (seed.ts) → `{ status: "ok", profiles: n }`
 * - `GET  /_emulator/stats`        → request counts by `METHOD template`, writes, statuses, faults
 * - `POST /_emulator/stats/reset`  → zero the counts
 * - `POST /_emulator/faults`       → change `latencyMs`, `failRate`, `failKinds`, `rateLimit`,
 *                                     `timeoutHoldMs`, `seed`, one-shot `failNext: { count, kind, status? }`; answers the config
 * - `POST /_emulator/flush`        → apply every pending property request now → `{ applied: n }`
 * - `GET  /_emulator/sent`         → messages fired events would have sent (filters in the query)
 * - `GET  /_emulator/state`        → the whole store as JSON
 */
import { messageOf } from '../../errors.js';
import { fail, isObject, type Reply } from './api-common.js';
import type { EmulatorEngine } from './engine.js';
import { emptyCounts } from './engine.js';
import { FAULT_KINDS, type FaultKind, type Faults } from './faults.js';
import type { StateFile } from './persistence.js';
import type { SeedInput } from './seed.js';

export interface AdminDeps {
  engine: EmulatorEngine;
  faults: Faults;
  stateFile: StateFile | undefined;
}

function okBody(extra: Record<string, unknown> = {}): Reply {
  return { status: 200, body: { status: 'ok', ...extra } };
}

export function statsBody(d: AdminDeps): Record<string, unknown> {
  const c = d.engine.counts;
  return {
    requests: { ...c.requests },
    writes: { ...c.writes },
    statuses: { ...c.statuses },
    total: c.total,
    faults: { ...d.faults.counts },
    pendingProperties: d.engine.store.pending.length,
  };
}

function faultsBody(d: AdminDeps): Record<string, unknown> {
  return { status: 'ok', ...d.faults.config };
}

const SENT_FILTERS = ['event', 'distinct_id', 'channel', 'destination', 'request_id'] as const;

/**
 * `GET /_emulator/sent?workspace=&env=&event=&distinct_id=&channel=&destination=&request_id=`:
 * the messages fired events would have sent, oldest first, filtered by every field given.
 */
function sentBody(d: AdminDeps, query: URLSearchParams): Reply {
  const env = query.get('env') ?? 'live';
  if (env !== 'live' && env !== 'test') return fail(400, "env must be 'live' or 'test'");
  const workspace = query.get('workspace') ?? d.engine.workspace ?? 'FYEMULATOR';
  const sent = d.engine.store.space(workspace, env).sent.filter((m) =>
    SENT_FILTERS.every((k) => {
      const want = query.get(k);
      return want === null || m[k] === want;
    }),
  );
  return okBody({ sent: structuredClone(sent) });
}

export function handleAdmin(d: AdminDeps, method: string, pathname: string, body: unknown, query: URLSearchParams = new URLSearchParams()): Reply {
  const route = `${method.toUpperCase()} ${pathname.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_emulator/health':
        return okBody();
      case 'POST /_emulator/reset':
        d.engine.reset();
        d.engine.counts = emptyCounts();
        d.faults.resetCounts();
        return okBody();
      case 'POST /_emulator/seed': {
        if (!isObject(body)) return fail(400, 'seed body must be a JSON object');
        const r = d.engine.seed(body as SeedInput);
        return okBody(r);
      }
      case 'GET /_emulator/stats':
        return { status: 200, body: statsBody(d) };
      case 'POST /_emulator/stats/reset':
        d.engine.counts = emptyCounts();
        d.faults.resetCounts();
        return okBody();
      case 'POST /_emulator/faults': {
        if (!isObject(body)) return fail(400, 'faults body must be a JSON object');
        const { failNext, ...rest } = body;
        d.faults.update(rest as Parameters<Faults['update']>[0]);
        if (failNext !== undefined) {
          if (!isObject(failNext) || typeof failNext.count !== 'number' || failNext.count < 0) return fail(400, 'failNext must be { count, kind }');
          const kind = (failNext.kind ?? 'error') as FaultKind;
          if (!FAULT_KINDS.includes(kind)) return fail(400, `failNext.kind must be one of ${FAULT_KINDS.join(', ')}`);
          const status = typeof failNext.status === 'number' ? failNext.status : undefined;
          d.faults.failNext(failNext.count, kind, status);
        }
        return { status: 200, body: faultsBody(d) };
      }
      case 'GET /_emulator/faults':
        return { status: 200, body: faultsBody(d) };
      case 'POST /_emulator/flush':
        return okBody({ applied: d.engine.flush() });
      case 'GET /_emulator/sent':
        return sentBody(d, query);
      case 'GET /_emulator/state':
        return { status: 200, body: d.engine.store.toJSON() };
      default:
        return fail(404, `Cannot ${route}`);
    }
  } catch (e) {
    return fail(400, messageOf(e));
  }
}
