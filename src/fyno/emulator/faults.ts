/**
 * Fault injection for the HTTP emulator: latency, a failure rate, one-shot failures and a
 * token-bucket rate limit. Decisions come from a seeded PRNG, so a run with the same `seed`
 * and the same request order injects the same faults.
 */

/**
 * - `error`: answer 500/502/503 without applying the request.
 * - `hangup`: destroy the connection without applying and without answering.
 * - `timeout`: never answer (not applied); the client's timeout ends it.
 * - `lost`: apply the request, then destroy the connection: "applied but the response was lost".
 */
export type FaultKind = 'error' | 'hangup' | 'timeout' | 'lost';
export const FAULT_KINDS: readonly FaultKind[] = ['error', 'hangup', 'timeout', 'lost'];

export interface RateLimit {
  /** Sustained requests per second. */
  rps: number;
  /** Bucket size: requests allowed at once (default: `rps`, at least 1). */
  burst?: number;
}

export interface FaultConfig {
  latencyMs: number;
  /** Probability in [0, 1] that a request to /v1 gets a fault. */
  failRate: number;
  /** Kinds drawn from when `failRate` hits (default: all four). */
  failKinds: FaultKind[];
  rateLimit: RateLimit | null;
  /** How long a `timeout` fault holds the connection before dropping it; 0 = until the client gives up. */
  timeoutHoldMs: number;
}

export interface FaultCounts {
  error: number;
  hangup: number;
  timeout: number;
  lost: number;
  rateLimited: number;
}

/** mulberry32: small, fast, good enough to pick faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  config: FaultConfig;
  counts: FaultCounts = { error: 0, hangup: 0, timeout: 0, lost: 0, rateLimited: 0 };
  private random: () => number;
  private readonly oneShots: { kind: FaultKind; status?: number }[] = [];
  private nextStatus: number | undefined;
  private tokens = 0;
  private refilledAt = 0;

  constructor(config: Partial<FaultConfig> = {}, seed?: number, private readonly clock: () => number = Date.now) {
    this.config = { latencyMs: 0, failRate: 0, failKinds: [...FAULT_KINDS], rateLimit: null, timeoutHoldMs: 0 };
    this.random = seededRandom(seed ?? Math.floor(Math.random() * 2 ** 32));
    this.update(config);
  }

  /** Change knobs at runtime (admin `POST /_emulator/faults`). Throws on invalid values. */
  update(c: Partial<FaultConfig> & { seed?: number }): void {
    if (c.latencyMs !== undefined) {
      if (!Number.isFinite(c.latencyMs) || c.latencyMs < 0) throw new Error('latencyMs must be a number >= 0');
      this.config.latencyMs = c.latencyMs;
    }
    if (c.failRate !== undefined) {
      if (!Number.isFinite(c.failRate) || c.failRate < 0 || c.failRate > 1) throw new Error('failRate must be a number from 0 to 1');
      this.config.failRate = c.failRate;
    }
    if (c.timeoutHoldMs !== undefined) {
      if (!Number.isFinite(c.timeoutHoldMs) || c.timeoutHoldMs < 0) throw new Error('timeoutHoldMs must be a number >= 0');
      this.config.timeoutHoldMs = c.timeoutHoldMs;
    }
    if (c.failKinds !== undefined) {
      if (!Array.isArray(c.failKinds) || c.failKinds.length === 0 || !c.failKinds.every((k) => FAULT_KINDS.includes(k))) {
        throw new Error(`failKinds must be a non-empty list of ${FAULT_KINDS.join(', ')}`);
      }
      this.config.failKinds = [...c.failKinds];
    }
    if (c.rateLimit !== undefined) {
      const rl = c.rateLimit;
      if (rl !== null && (!Number.isFinite(rl.rps) || rl.rps <= 0 || (rl.burst !== undefined && (!Number.isFinite(rl.burst) || rl.burst < 1)))) {
        throw new Error('rateLimit must be null or { rps > 0, burst >= 1 }');
      }
      this.config.rateLimit = rl === null ? null : { ...rl };
      this.tokens = rl === null ? 0 : this.burst();
      this.refilledAt = this.clock();
    }
    if (c.seed !== undefined) this.random = seededRandom(c.seed);
  }

  /**
   * Queue one-shot faults: the next `n` requests to /v1 get `kind`; an `error` answers `status`
   * (any 4xx/5xx, e.g. 503 or 500) when given.
   */
  failNext(n: number, kind: FaultKind = 'error', status?: number): void {
    if (status !== undefined && (!Number.isInteger(status) || status < 400 || status > 599)) throw new Error('status must be an HTTP error status (400-599)');
    for (let i = 0; i < n; i += 1) this.oneShots.push(status === undefined ? { kind } : { kind, status });
  }

  private burst(): number {
    const rl = this.config.rateLimit;
    return rl ? Math.max(1, rl.burst ?? Math.ceil(rl.rps)) : 0;
  }

  /**
   * Take a token. `null` when allowed; otherwise the seconds the client should wait
   * (`Retry-After`, a whole number ≥ 1 as HTTP requires).
   */
  takeToken(): number | null {
    const rl = this.config.rateLimit;
    if (!rl) return null;
    const now = this.clock();
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.refilledAt) / 1000) * rl.rps);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return null;
    }
    this.counts.rateLimited += 1;
    return Math.max(1, Math.ceil((1 - this.tokens) / rl.rps));
  }

  /** The fault for this request, if any; one-shot faults first. */
  pick(): FaultKind | null {
    const one = this.oneShots.shift();
    this.nextStatus = one?.status;
    let kind: FaultKind | null = one?.kind ?? null;
    if (!kind && this.config.failRate > 0 && this.random() < this.config.failRate) {
      const kinds = this.config.failKinds;
      kind = kinds[Math.floor(this.random() * kinds.length)] ?? 'error';
    }
    if (kind) this.counts[kind] += 1;
    return kind;
  }

  /** Status for an `error` fault, varied like a real gateway. */
  errorStatus(): number {
    if (this.nextStatus !== undefined) return this.nextStatus;
    const statuses = [500, 502, 503];
    return statuses[Math.floor(this.random() * statuses.length)] ?? 503;
  }

  resetCounts(): void {
    this.counts = { error: 0, hangup: 0, timeout: 0, lost: 0, rateLimited: 0 };
  }
}
