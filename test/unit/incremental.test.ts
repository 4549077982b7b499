/** The pure part of incremental plans: which profiles changed between two desired states. */
import { describe, expect, it } from 'vitest';
import type { DesiredProfile, DesiredState } from '../../src/desired/types.js';
import { diffDesired, incrementalSelection } from '../../src/plan/incremental.js';

function profile(id: string, o: Partial<DesiredProfile> = {}, file = 'a.yaml', line = 3): DesiredProfile {
  return {
    distinct_id: id,
    at: { file, line, column: 5 },
    refs: { file, keys: ['name'], pos: [line + 1, 11] },
    state: 'present',
    protected: false,
    merge_from: [],
    name: `Name of ${id}`,
    exact: { properties: false, preferences: false },
    sensitive: [],
    ...o,
  };
}
const state = (...profiles: DesiredProfile[]): DesiredState => ({ profiles, files: [...new Set(profiles.map((p) => p.at.file))] });

describe('diffDesired', () => {
  it('ignores where a profile is written: another file, line, order or key order', () => {
    const base = state(profile('a'), profile('b', { properties: { plan: { op: 'set', value: 'x' }, n: { op: 'set', value: 1 } } }));
    const moved = profile('b', { properties: { n: { op: 'set', value: 1 }, plan: { op: 'set', value: 'x' } } }, 'split.yaml', 40);
    expect(diffDesired(base, state(moved, profile('a', {}, 'c.yaml', 9)))).toEqual({ changed: [], unchanged: 2, removed: 0 });
  });

  it('counts as changed: new ids, any field, merge_from, state, protected, exact, sensitivity', () => {
    const base = state(profile('a'), profile('b'), profile('c'), profile('d'), profile('e'), profile('f'), profile('g'));
    const head = state(
      profile('a', { name: 'Other' }),
      profile('b', { merge_from: ['lead-1'] }),
      profile('c', { state: 'absent' }),
      profile('d', { protected: true }),
      profile('e', { exact: { properties: true, preferences: false } }),
      profile('f', { sensitive: ['name'] }),
      profile('g'),
      profile('new'),
    );
    expect(diffDesired(base, head)).toEqual({ changed: ['a', 'b', 'c', 'd', 'e', 'f', 'new'], unchanged: 1, removed: 0 });
  });

  it('profiles no longer named are removed (unmanaged), a renamed id is one removed and one new', () => {
    const base = state(profile('old'), profile('gone'), profile('kept'));
    const head = state(profile('renamed', { merge_from: ['old'] }), profile('kept'));
    expect(diffDesired(base, head)).toEqual({ changed: ['renamed'], unchanged: 1, removed: 2 });
    expect(incrementalSelection(base, head, 'main', 'f'.repeat(40))).toEqual({
      only: new Set(['renamed']),
      scope: { incremental: { since: 'main', revision: 'f'.repeat(40), skipped: 1, removed: 2 } },
    });
  });

  it('profiles of files identical at both ends (not loaded at the base) are unchanged; others compare as usual', () => {
    const base = state(profile('b', { name: 'Old' }, 'changed.yaml'));
    const head = state(profile('a', {}, 'same.yaml'), profile('b', {}, 'changed.yaml'), profile('c', {}, 'changed.yaml'));
    expect(diffDesired(base, head, new Set(['same.yaml']))).toEqual({ changed: ['b', 'c'], unchanged: 1, removed: 0 });
    expect(diffDesired(base, head)).toEqual({ changed: ['a', 'b', 'c'], unchanged: 0, removed: 0 });
  });
});
