/** The JSON Patch of planned profiles kept on disk until the plan is written (issue #17, "Memory"). */
import { describe, expect, it } from 'vitest';
import { openDriftSpool } from '../../src/drift-spool.js';
import type { ProfileDrift } from '../../src/plan/types.js';

describe('openDriftSpool', () => {
  it('gives back each drift as it was put, as a plain { patch } object, until closed', () => {
    const spool = openDriftSpool();
    const drifts: ProfileDrift[] = [
      { patch: [{ op: 'add', path: '', value: { distinct_id: 'a', name: 'Zoë 🎉', properties: { n: 1, tags: ['x'] } } }] },
      { patch: [{ op: 'remove', path: '' }] },
      { patch: [{ op: 'replace', path: '/name', value: 'José' }, { op: 'remove', path: '/channels/sms' }] },
    ];
    const kept = drifts.map((d) => spool.put(d));
    for (let i = 0; i < drifts.length; i += 1) {
      expect(kept[i]).toEqual(drifts[i]);
      expect(Object.keys(kept[i]!)).toEqual(['patch']);
      expect(JSON.stringify(kept[i])).toBe(JSON.stringify(drifts[i]));
    }
    // Each read is a copy: a reader cannot change what is kept.
    kept[1]!.patch.push({ op: 'remove', path: '/x' });
    expect(kept[1]!.patch).toEqual(drifts[1]!.patch);
    spool.close();
    expect(() => kept[0]!.patch).toThrow(/closed/);
    spool.close();
  });
});
