import { describe, expect, it } from 'vitest';
import { useTempTree } from '../support/temp-tree.js';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { fieldRef, type DesiredProfile } from '../../src/desired/types.js';

const tmp = useTempTree('fyno-desired-');
const files = tmp.files;

async function load(paths: string[] = ['.'], env: Record<string, string> = {}) {
  const r = await loadDesired(paths, { env, cwd: tmp.dir });
  return { ...r, lines: r.issues.map(formatIssue) };
}

function byId(ps: DesiredProfile[], id: string): DesiredProfile {
  const p = ps.find((x) => x.distinct_id === id);
  if (!p) throw new Error(`no profile ${id}`);
  return p;
}

describe('loadDesired: semantics', () => {
  it('merges defaults under every profile, one level deep, the profile winning', async () => {
    await files({
      'a.yaml': `version: 1
defaults:
  timezone: Asia/Kolkata
  status: active
  channels: { email: ops@example.com, slack: C123 }
  preferences: { all: { sms: opted-out, email: opted-out } }
  properties: { source: crm, plan: free }
profiles:
  - distinct_id: u1
    timezone: Europe/Berlin
    channels: { email: u1@example.com }
    preferences: { all: { push: opted-in } }
    properties: { plan: premium }
  - distinct_id: u2
`,
    });
    const { state, issues } = await load();
    expect(issues).toEqual([]);
    const u1 = byId(state.profiles, 'u1');
    expect(u1.timezone).toBe('Europe/Berlin');
    expect(u1.status).toBe('active');
    expect(u1.channels).toEqual({ email: 'u1@example.com', slack: 'C123' });
    // A topic named by the profile replaces the same topic from defaults.
    expect(u1.preferences).toEqual({ all: { push: 'opted-in' } });
    expect(u1.properties).toEqual({ source: { op: 'set', value: 'crm' }, plan: { op: 'set', value: 'premium' } });
    expect(fieldRef(u1.refs, 'properties.source')).toEqual({ file: 'a.yaml', line: 7, column: 17 });
    expect(fieldRef(u1.refs, 'properties.plan')).toEqual({ file: 'a.yaml', line: 13, column: 19 });
    const u2 = byId(state.profiles, 'u2');
    expect(u2.timezone).toBe('Asia/Kolkata');
    expect(u2.preferences).toEqual({ all: { sms: 'opted-out', email: 'opted-out' } });
  });

  it('keeps omitted keys undefined, turns null into removal and keeps lists exact', async () => {
    await files({
      'a.yaml': `version: 1
profiles:
  - distinct_id: u1
    channels:
      sms: null
      push: []
    properties:
      old_flag: null
      tags: [b, a]
      first_seen: { $once: 2024-01-01 }
  - distinct_id: u2
`,
    });
    const { state, issues } = await load();
    expect(issues).toEqual([]);
    const u1 = byId(state.profiles, 'u1');
    expect(u1.channels).toEqual({ sms: null, push: [] });
    expect('email' in u1.channels!).toBe(false);
    expect(u1.properties).toEqual({
      old_flag: { op: 'unset' },
      tags: { op: 'set', value: ['b', 'a'] },
      first_seen: { op: 'once', value: '2024-01-01' },
    });
    const u2 = byId(state.profiles, 'u2');
    expect(u2.channels).toBeUndefined();
    expect(u2.properties).toBeUndefined();
    expect(u2.preferences).toBeUndefined();
    expect(u2.name).toBeUndefined();
    expect(u2.exact).toEqual({ properties: false, preferences: false });
  });

  it('normalises phone numbers to E.164 and tokens to Fyno status numbers', async () => {
    await files({
      'a.yaml': `version: 1
profiles:
  - distinct_id: u1
    channels:
      sms: "+91 98123 45678"
      whatsapp: "0091-98123-45678"
      voice: "919812345678"
      push:
        - { token: "ExponentPushToken[a]", integration_id: IX1, status: inactive }
        - { token: "ExponentPushToken[b]" }
`,
    });
    const { state, issues } = await load();
    expect(issues).toEqual([]);
    expect(state.profiles[0]!.channels).toEqual({
      sms: '+919812345678',
      whatsapp: '+919812345678',
      voice: '+919812345678',
      push: [{ token: 'ExponentPushToken[a]', integration_id: 'IX1', status: 0 }, { token: 'ExponentPushToken[b]' }],
    });
  });

  it('substitutes ${VAR}, marks those fields sensitive and never prints their values', async () => {
    await files({
      'a.yaml': `version: 1
defaults:
  properties: { api_ref: "ref-\${REF}" }
profiles:
  - distinct_id: u1
    channels: { sms: "\${PHONE}", email: "\${EMAIL}" }
    properties: { note: plain }
`,
    });
    const ok = await load(['a.yaml'], { PHONE: '+919812345678', EMAIL: 'a@example.com', REF: 'x1' });
    expect(ok.issues).toEqual([]);
    const u1 = ok.state.profiles[0]!;
    expect(u1.channels).toEqual({ sms: '+919812345678', email: 'a@example.com' });
    expect(u1.properties!.api_ref).toEqual({ op: 'set', value: 'ref-x1' });
    expect(u1.sensitive).toEqual(['channels.email', 'channels.sms', 'properties.api_ref']);

    const bad = await load(['a.yaml'], { PHONE: '777', EMAIL: 'secret-not-an-email' });
    expect(bad.lines).toEqual([
      'a.yaml:3:26: defaults.properties.api_ref: environment variable REF is not set',
      'a.yaml:6:22: profile u1: channels.sms: the value from the environment is not a valid phone number; write it with its country code, e.g. "+919812345678"',
      'a.yaml:6:41: profile u1: channels.email: the value from the environment is not a valid email address',
    ]);
    expect(bad.lines.join('\n')).not.toContain('secret-not-an-email');
    expect(bad.lines.join('\n')).not.toContain('777');
  });

  it('marks a whole field sensitive when a list item, a $once value or a token comes from the environment', async () => {
    await files({
      'a.yaml': `version: 1
defaults:
  properties: { region: "\${REGION}" }
profiles:
  - distinct_id: u1
    channels: { push: [{ token: "\${TOKEN}" }] }
    preferences: { all: { sms: "\${SMS_PREF}" } }
    properties:
      tags: [a, "\${TAG}"]
      first_seen: { $once: "\${FIRST}" }
      region: eu
`,
    });
    const env = { REGION: 'in', TOKEN: 'tok', SMS_PREF: 'opted-in', TAG: 'b', FIRST: '2024-01-01' };
    const { state, issues } = await load(['a.yaml'], env);
    expect(issues).toEqual([]);
    // region is the profile's own literal, so the env-sourced default under it is not sensitive.
    expect(state.profiles[0]!.sensitive).toEqual(['channels.push', 'preferences.all.sms', 'properties.first_seen', 'properties.tags']);
    expect(state.profiles[0]!.properties!.first_seen).toEqual({ op: 'once', value: '2024-01-01' });
  });

  it('marks state: absent and protected, and applies protected from defaults', async () => {
    await files({
      'a.yaml': `version: 1
defaults: { protected: true, timezone: UTC }
profiles:
  - distinct_id: keep
  - distinct_id: gone
    state: absent
    protected: false
`,
    });
    const { state, issues } = await load();
    expect(issues).toEqual([]);
    expect(byId(state.profiles, 'keep')).toMatchObject({ state: 'present', protected: true, timezone: 'UTC' });
    const gone = byId(state.profiles, 'gone');
    expect(gone).toMatchObject({ state: 'absent', protected: false, merge_from: [] });
    expect(gone.timezone).toBeUndefined();
  });

  it('reads merge_from as a string or a list, and manage: exact', async () => {
    await files({
      'a.yaml': `version: 1
profiles:
  - distinct_id: u1
    merge_from: lead-1
  - distinct_id: u2
    merge_from: [lead-2, lead-3]
    manage: { properties: exact }
`,
    });
    const { state, issues } = await load();
    expect(issues).toEqual([]);
    expect(byId(state.profiles, 'u1').merge_from).toEqual(['lead-1']);
    expect(byId(state.profiles, 'u2').merge_from).toEqual(['lead-2', 'lead-3']);
    expect(byId(state.profiles, 'u2').exact).toEqual({ properties: true, preferences: false });
  });

  it('reads directories and globs in a stable order and lists the files', async () => {
    await files({
      'p/b.yaml': 'version: 1\nprofiles: [{ distinct_id: b }]\n',
      'p/a.yml': 'version: 1\nprofiles: [{ distinct_id: a }]\n',
      'p/notes.txt': 'not yaml',
      'q/c.yaml': 'version: 1\nprofiles: [{ distinct_id: c }]\n',
    });
    const { state, issues } = await load(['p', 'q/*.yaml']);
    expect(issues).toEqual([]);
    expect(state.files).toEqual(['p/a.yml', 'p/b.yaml', 'q/c.yaml']);
    expect(state.profiles.map((p) => p.distinct_id)).toEqual(['a', 'b', 'c']);
  });
});

describe('loadDesired: errors', () => {
  it('reports every error of every file in one run, sorted by file and line', async () => {
    await files({
      'a.yaml': `version: 1
profiles:
  - distinct_id: u1
    merge_from: [lead-1]
    timezone: Mars/Olympus
  - distinct_id: u2
    channels: { sms: "12345" }
`,
      'b.yaml': `version: 1
profiles:
  - distinct_id: u1
  - distinct_id: u3
    merge_from: lead-1
    properties: { when: 2024-02-30 }
`,
    });
    const { lines } = await load();
    expect(lines).toEqual([
      'a.yaml:5:15: profile u1: timezone: "Mars/Olympus" is not an IANA timezone name that Fyno accepts',
      'a.yaml:7:22: profile u2: channels.sms: "12345" is not a valid phone number; write it with its country code, e.g. "+919812345678"',
      'b.yaml:3:18: profile u1: distinct_id: distinct_id "u1" is declared twice; it is also declared at a.yaml:3:18',
      'b.yaml:5:17: profile u3: merge_from: profile lead-1 is also merged into u1 at a.yaml:4:18; a profile can be merged into one target only',
      'b.yaml:6:25: profile u3: properties.when: "2024-02-30" is not a valid date (Fyno accepts 2020-10-01, 2020-10-01T18:30:00Z, 2020-10-01T18:30:00.000Z, 2020-10-01T18:30:00+05:30)',
    ]);
  });

  it('finds merge cycles, self-merges and sources that are also declared', async () => {
    await files({
      'a.yaml': `version: 1
profiles:
  - distinct_id: a
    merge_from: b
  - distinct_id: b
    merge_from: a
  - distinct_id: c
    merge_from: [c]
  - distinct_id: d
    merge_from: [e]
  - distinct_id: e
  - distinct_id: f
    merge_from: [p]
  - distinct_id: p
    protected: true
`,
    });
    const { lines } = await load();
    expect(lines).toEqual([
      'a.yaml:4:17: profile a: merge_from: merge cycle: a ← b ← a (each profile merges the next one into itself)',
      'a.yaml:8:18: profile c: merge_from[0]: a profile cannot be merged into itself',
      'a.yaml:10:18: profile d: merge_from[0]: profile e is merged into d and deleted by Fyno, but is also declared at a.yaml:11:18; remove one of the two',
      'a.yaml:13:18: profile f: merge_from[0]: profile p is protected (declared at a.yaml:14:18) and is never merged away',
    ]);
  });

  it('refuses state: absent on a profile protected by its file\'s defaults', async () => {
    await files({ 'a.yaml': 'version: 1\ndefaults: { protected: true }\nprofiles:\n  - distinct_id: u1\n    state: absent\n' });
    const { lines, state } = await load();
    expect(lines).toEqual([
      "a.yaml:5:12: profile u1: state: a protected profile is never deleted: remove state: absent or set protected: false (protected: true comes from this file's defaults)",
    ]);
    expect(state.profiles).toEqual([]);
  });

  it('refuses ids from the environment, since they cannot be masked', async () => {
    await files({ 'a.yaml': 'version: 1\nprofiles:\n  - distinct_id: "${ID}"\n' });
    const { lines } = await load(['a.yaml'], { ID: 'hidden-id' });
    expect(lines).toEqual([
      'a.yaml:3:18: profiles[0].distinct_id: distinct_id must not come from an environment variable: ids are shown in every output and cannot be masked',
    ]);
  });

  it('formats issues without a position or a profile', () => {
    expect(formatIssue({ file: 'x.yaml', line: 0, column: 0, message: 'no such file or directory' })).toBe('x.yaml: no such file or directory');
    expect(formatIssue({ file: 'x.yaml', line: 2, column: 1, field: 'version', message: 'must be 1,\nnot 2' })).toBe('x.yaml:2:1: version: must be 1, not 2');
  });
});
