/**
 * The client's adaptive sending rate (issue #13 item 8): paced starts, multiplicative decrease on
 * 429 once per episode, Retry-After holding new starts, slow additive increase up to `--rps`.
 * Driven by an injected clock: no timers, no waiting.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveRate } from '../../src/fyno/adaptive-rate.js';

function clocked(o: ConstructorParameters<typeof AdaptiveRate>[0] = {}) {
  const t = { now: 0 };
  const rate = new AdaptiveRate({ ...o, now: () => t.now });
  /** Reserve a slot and move the clock to it, as a sender that waits would; returns the wait. */
  const send = (): number => {
    const w = rate.reserve();
    t.now += w;
    return w;
  };
  /** Send at the full rate for `ms` (every start waits for its slot). */
  const saturate = (ms: number): void => {
    const until = t.now + ms;
    while (t.now < until) rate.onSuccess(send());
  };
  return { t, rate, send, saturate };
}

describe('AdaptiveRate', () => {
  it('never holds back an unpaced client that has seen no 429', () => {
    const { rate, send } = clocked();
    expect(Array.from({ length: 1000 }, send).every((w) => w === 0)).toBe(true);
    expect(rate.rate).toBe(Infinity);
  });

  it('spaces starts 1/rps apart under a configured rps', () => {
    const { t, send } = clocked({ rps: 10 });
    const starts = Array.from({ length: 5 }, () => (send(), t.now));
    expect(starts).toEqual([0, 100, 200, 300, 400]);
  });

  it('lowers from the rate actually sent at, which may be below the configured rps', () => {
    const { t, rate, send } = clocked({ rps: 100 });
    for (let i = 0; i < 30; i += 1) {
      send();
      t.now += 50; // 20 per second
    }
    send();
    rate.onRateLimited(t.now);
    // 0.7 × ~20 per second (the measure is over whole-second windows, within a start or two).
    expect(rate.rate).toBeGreaterThanOrEqual(13.3);
    expect(rate.rate).toBeLessThanOrEqual(16.1);
  });

  it('lowers from the rate actually sent at when an unpaced client gets its first 429', () => {
    const { t, rate, send } = clocked();
    // 40 starts over one second, then a second window begins: 40 per second was sent.
    for (let i = 0; i < 40; i += 1) {
      send();
      t.now += 25;
    }
    const sentAt = t.now;
    send();
    rate.onRateLimited(sentAt);
    expect(rate.rate).toBeCloseTo(28, 5); // 0.7 × 40
    expect(rate.decreases).toBe(1);
  });

  it('decreases once per episode: a 429 for a request sent before the last decrease is ignored', () => {
    const { t, rate, send, saturate } = clocked({ rps: 16 });
    saturate(1000);
    const early = t.now;
    send();
    rate.onRateLimited(early);
    expect(rate.rate).toBeCloseTo(11.2, 9);
    rate.onRateLimited(early); // same episode
    expect(rate.rate).toBeCloseTo(11.2, 9);
    const later = t.now;
    send();
    rate.onRateLimited(later); // sent after the decrease: news
    expect(rate.rate).toBeCloseTo(7.84, 9);
    expect(rate.decreases).toBe(2);
  });

  it('holds every new start until the Retry-After of the 429 that lowered the rate has passed', () => {
    const { t, rate, send } = clocked({ rps: 100 });
    send();
    rate.onRateLimited(t.now, 1000);
    const w = send();
    expect(w).toBe(1000);
  });

  it('does not go below its floor', () => {
    const { t, rate, send } = clocked({ rps: 4, floor: 1 });
    for (let i = 0; i < 10; i += 1) {
      const at = t.now;
      send();
      rate.onRateLimited(at);
      t.now += 1;
    }
    expect(rate.rate).toBe(1);
  });

  it('climbs back by about `increase` per second of saturated sending, never above the configured rps', () => {
    const { t, rate, send, saturate } = clocked({ rps: 20 });
    saturate(2000);
    expect(rate.rate).toBe(20);
    send();
    rate.onRateLimited(t.now);
    expect(rate.rate).toBeCloseTo(14, 9);
    saturate(2000); // +2 per second by default
    expect(rate.rate).toBeGreaterThan(17);
    expect(rate.rate).toBeLessThan(19);
    saturate(60_000);
    expect(rate.rate).toBe(20);
  });

  it('does not climb on successes the rate did not hold back (an idle or concurrency-bound sender)', () => {
    const { t, rate, send, saturate } = clocked({ rps: 20 });
    saturate(2000);
    send();
    rate.onRateLimited(t.now);
    expect(rate.rate).toBeCloseTo(14, 9);
    for (let i = 0; i < 100; i += 1) {
      t.now += 1000; // far slower than the rate
      rate.onSuccess(send());
    }
    expect(rate.rate).toBeCloseTo(14, 9);
  });
});
