/**
 * The client's sending rate (issue #13 item 8; PRODUCT.md "Applying": "429 answers have their own
 * retry budget and lower the sending rate (raised again slowly)"). A pacer spaces request starts
 * 1/rate apart (GCRA-style virtual schedule, one slot per attempt, retries included), and the rate
 * adapts to 429 answers by AIMD, as TCP congestion avoidance does:
 * - multiplicative decrease: a 429 multiplies the rate by `decrease` (0.7) — from the rate
 *   actually sent at when that is lower (an unpaced client learns its first rate so) — once per
 *   congestion episode: a 429 for a request sent before the last decrease is an echo of the same
 *   episode, not news;
 * - the Retry-After of that 429 holds every new start until it has passed (it is the server's
 *   word on when to come back, for the client and not only for the one request);
 * - additive increase: each success of a request the pacer had to hold back (the rate was what
 *   limited it) adds `increase / rate`, so a saturated sender gains about `increase` requests per
 *   second every second, up to the configured `--rps` (none: no ceiling).
 * p-throttle, used before, fixes its rate when created; this needs one that changes per call.
 * No allocation per request on the fast path: an unpaced client with no 429 seen does nothing.
 */

export interface AdaptiveRateOptions {
  /** Configured ceiling (`--rps`); `undefined`/`Infinity`: unpaced until the first 429. */
  rps?: number;
  /** Lowest rate a decrease goes to, requests per second (default 0.5). */
  floor?: number;
  /** Factor of a decrease (default 0.7, CUBIC's β: in bench/rate-limit-bench.ts it kept 429s under 3% and ran faster than 0.5). */
  decrease?: number;
  /** Requests per second gained per second of saturated sending (default 2). */
  increase?: number;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
}

/** Window over which the rate actually sent is measured. */
const WINDOW_MS = 1000;

export class AdaptiveRate {
  readonly ceiling: number;
  #rate: number;
  readonly #floor: number;
  readonly #decrease: number;
  readonly #increase: number;
  readonly #now: () => number;
  /** Earliest start of the next reservation. */
  #nextAt = 0;
  #lastDecreaseAt = -Infinity;
  #windowStart = 0;
  #windowCount = 0;
  #lastWindowRate = 0;
  /** Decreases so far (tests, diagnostics). */
  decreases = 0;

  constructor(o: AdaptiveRateOptions = {}) {
    const rps = o.rps ?? Infinity;
    if (!(rps > 0)) throw new RangeError(`rps must be a positive number, got ${rps}`);
    this.ceiling = rps;
    this.#rate = rps;
    this.#floor = Math.min(o.floor ?? 0.5, rps);
    this.#decrease = o.decrease ?? 0.7;
    this.#increase = o.increase ?? 2;
    this.#now = o.now ?? (() => performance.now());
  }

  /** Current rate, requests per second (`Infinity` while unpaced). */
  get rate(): number {
    return this.#rate;
  }

  /** The clock the limiter runs on: pass its values back as `sentAt`. */
  now(): number {
    return this.#now();
  }

  /**
   * Reserve the next start slot: milliseconds to wait before sending (0: send now). A positive
   * wait means the rate is what holds the sender back (see `onSuccess`).
   */
  reserve(): number {
    const now = this.#now();
    this.#count(now);
    if (this.#rate === Infinity && this.#nextAt <= now) return 0;
    const at = this.#nextAt > now ? this.#nextAt : now;
    this.#nextAt = at + 1000 / this.#rate; // 0 while unpaced (Retry-After hold only)
    return at - now;
  }

  /**
   * A 429 for a request sent at `sentAt` (this limiter's clock), with the server's Retry-After
   * in milliseconds when it gave one.
   */
  onRateLimited(sentAt: number, retryAfterMs?: number): void {
    if (sentAt < this.#lastDecreaseAt) return;
    const now = this.#now();
    const from = Math.min(this.#rate, this.#sentRate(now));
    this.#rate = Math.max(this.#floor, from * this.#decrease);
    this.#lastDecreaseAt = now;
    this.decreases += 1;
    if (retryAfterMs !== undefined && retryAfterMs > 0 && now + retryAfterMs > this.#nextAt) this.#nextAt = now + retryAfterMs;
  }

  /** A non-429 answer to a request whose slot made it wait `waitedMs` (as `reserve` said). */
  onSuccess(waitedMs: number): void {
    if (waitedMs <= 0 || this.#rate >= this.ceiling) return;
    this.#rate = Math.min(this.ceiling, this.#rate + this.#increase / this.#rate);
  }

  #count(now: number): void {
    const elapsed = now - this.#windowStart;
    if (elapsed >= WINDOW_MS) {
      this.#lastWindowRate = elapsed < 2 * WINDOW_MS ? (this.#windowCount * 1000) / elapsed : 0;
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    this.#windowCount += 1;
  }

  /**
   * Starts per second lately: the last full window, or the current one once it says more (read
   * over at least a quarter window, so a first burst of n starts counts as 4n per second).
   */
  #sentRate(now: number): number {
    const current = (this.#windowCount * 1000) / Math.max(now - this.#windowStart, WINDOW_MS / 4);
    return Math.max(this.#lastWindowRate, current, this.#floor);
  }
}
