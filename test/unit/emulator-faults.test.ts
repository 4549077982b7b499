import { describe, expect, it } from 'vitest';
import { Faults } from '../../src/fyno/emulator/faults.js';

describe('Faults', () => {
  it('rate-limits with a token bucket and tells how long to wait', () => {
    let now = 0;
    const f = new Faults({ rateLimit: { rps: 2, burst: 3 } }, 1, () => now);
    expect([f.takeToken(), f.takeToken(), f.takeToken()]).toEqual([null, null, null]);
    expect(f.takeToken()).toBe(1);
    now = 499;
    expect(f.takeToken()).toBe(1);
    now = 500;
    expect(f.takeToken()).toBeNull();
    expect(f.counts.rateLimited).toBe(2);
  });

  it('rounds Retry-After up to whole seconds for slow limits', () => {
    const f = new Faults({ rateLimit: { rps: 0.25, burst: 1 } }, 1, () => 0);
    expect(f.takeToken()).toBeNull();
    expect(f.takeToken()).toBe(4);
  });

  it('draws the same faults for the same seed, at about the configured rate', () => {
    const draw = (seed: number) => {
      const f = new Faults({ failRate: 0.1 }, seed);
      return Array.from({ length: 2000 }, () => f.pick());
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    const hits = a.filter((x) => x !== null).length;
    expect(hits).toBeGreaterThan(140);
    expect(hits).toBeLessThan(260);
    expect(new Set(a.filter((x) => x !== null))).toEqual(new Set(['error', 'hangup', 'timeout', 'lost']));
  });

  it('serves one-shot faults first, then none at rate 0', () => {
    const f = new Faults({}, 1);
    f.failNext(2, 'lost');
    expect([f.pick(), f.pick(), f.pick()]).toEqual(['lost', 'lost', null]);
    expect(f.counts.lost).toBe(2);
  });

  it('rejects invalid knobs', () => {
    const f = new Faults();
    expect(() => f.update({ failRate: 1.5 })).toThrow('failRate must be a number from 0 to 1');
    expect(() => f.update({ latencyMs: -1 })).toThrow('latencyMs must be a number >= 0');
    expect(() => f.update({ rateLimit: { rps: 0 } })).toThrow(/rateLimit/);
    expect(() => f.update({ failKinds: [] })).toThrow(/failKinds/);
  });
});
