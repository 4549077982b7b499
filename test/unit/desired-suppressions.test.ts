import { describe, expect, it } from 'vitest';
import { useTempTree } from '../support/temp-tree.js';
import { formatIssue, loadDesired } from '../../src/desired/load.js';

const tmp = useTempTree('fyno-suppr-');
const files = tmp.files;

async function load(env: Record<string, string> = {}, workers = 0) {
  const r = await loadDesired(['.'], { env, cwd: tmp.dir, workers, ...(workers > 0 ? { workerScript: new URL('../../dist/desired/load-worker.js', import.meta.url) } : {}) });
  return { ...r, lines: r.issues.map(formatIssue) };
}

describe('loadDesired: suppressions', () => {
  it('reads entries from every file in file order, keys normalised for their channel', async () => {
    await files({
      'a.yaml': `version: 1
profiles: []
suppressions:
  manage: exact
  entries:
    - { channel: sms, destination: "+91 98123 45678", description: DND }
    - { channel: email, distinct_id: cust-1001, description: legal hold }
`,
      'b.yaml': `version: 1
profiles: []
suppressions:
  entries:
    - { channel: email, destination: Bounce@Example.COM }
    - { channel: whatsapp, destination: "+14155550123", state: absent }
`,
    });
    const { state, lines } = await load();
    expect(lines).toEqual([]);
    expect(state.suppressions).toEqual({
      manage: 'exact',
      at: { file: 'a.yaml', line: 4, column: 11 },
      entries: [
        { channel: 'sms', key: 'destination', value: '+919812345678', description: 'DND', state: 'present', at: { file: 'a.yaml', line: 6, column: 7 } },
        { channel: 'email', key: 'distinct_id', value: 'cust-1001', description: 'legal hold', state: 'present', at: { file: 'a.yaml', line: 7, column: 7 } },
        { channel: 'email', key: 'destination', value: 'Bounce@example.com', state: 'present', at: { file: 'b.yaml', line: 5, column: 7 } },
        { channel: 'whatsapp', key: 'destination', value: '+14155550123', state: 'absent', at: { file: 'b.yaml', line: 6, column: 7 } },
      ],
    });
  });

  it('leaves the list unmanaged when no file has the key', async () => {
    await files({ 'a.yaml': 'version: 1\nprofiles: [{ distinct_id: a }]\n' });
    const { state, lines } = await load();
    expect(lines).toEqual([]);
    expect(state.suppressions).toBeUndefined();
  });

  it('refuses an entry listed twice across files with both file:line positions', async () => {
    await files({
      'a.yaml': 'version: 1\nprofiles: []\nsuppressions:\n  entries:\n    - { channel: sms, destination: "+919812345678" }\n',
      'b.yaml': 'version: 1\nprofiles: []\nsuppressions:\n  entries:\n    - { channel: sms, destination: "+91 98123 45678" }\n',
    });
    const { lines } = await load();
    expect(lines).toEqual(['b.yaml:5:7: suppressions.entries: sms destination "+919812345678" is listed twice; it is also listed at a.yaml:5:7']);
  });

  it('refuses files that disagree on manage, and bad entries, each on one line', async () => {
    await files({
      'a.yaml': 'version: 1\nprofiles: []\nsuppressions:\n  manage: exact\n',
      'b.yaml': `version: 1
profiles: []
suppressions:
  manage: merge
  entries:
    - { channel: sms, destination: "12" }
    - { channel: email, destination: not-an-email }
    - { channel: sms }
    - { channel: sms, destination: "+919812345678", distinct_id: x }
    - { channel: fax, destination: "+919812345678" }
    - { channel: sms, destination: "\${PHONE}" }
    - { channel: sms, distinct_id: a, description: "mine [fyno-sync]" }
`,
    });
    const { lines } = await load({ PHONE: '+919812345678' });
    expect(lines).toEqual([
      'b.yaml:4:11: suppressions.manage: manage: merge disagrees with manage: exact at a.yaml:4:11; the list is managed one way',
      'b.yaml:6:36: suppressions.entries[0].destination: "12" is not a valid phone number for sms; write it with its country code, e.g. "+919812345678"',
      'b.yaml:7:38: suppressions.entries[1].destination: "not-an-email" is not a valid email address',
      'b.yaml:8:7: suppressions.entries[2]: a suppression names destination or distinct_id',
      'b.yaml:9:7: suppressions.entries[3]: name either destination or distinct_id, not both',
      'b.yaml:10:18: suppressions.entries[4].channel: must be one of sms, whatsapp, voice, email, slack, discord, teams, push, inapp, not "fax"',
      'b.yaml:11:36: suppressions.entries[5].destination: destination of a suppression must not come from an environment variable: it is shown in every output and cannot be masked',
      'b.yaml:12:52: suppressions.entries[6].description: leave out the marker [fyno-sync]: fyno-sync appends it to the entries it adds',
    ]);
  });

  it('keeps the list when files are read by worker threads', async () => {
    const tree: Record<string, string> = {};
    for (let f = 0; f < 4; f++) {
      tree[`f${f}.yaml`] = `version: 1\nprofiles: [{ distinct_id: p${f} }]\nsuppressions:\n  entries:\n    - { channel: email, distinct_id: p${f} }\n`;
    }
    await files(tree);
    const { state, lines, filesOnWorkers } = await load({}, 2);
    expect(lines).toEqual([]);
    expect(filesOnWorkers).toBe(4);
    expect(state.suppressions?.entries.map((e) => e.value)).toEqual(['p0', 'p1', 'p2', 'p3']);
  });

  it('reads the list of a long file once, wherever the key is (the fast path cuts long profile lists in chunks)', async () => {
    const profiles = Array.from({ length: 3000 }, (_, i) => `  - distinct_id: p${i}\n    name: P ${i}\n`).join('');
    await files({
      'big.yaml': `version: 1\nsuppressions:\n  entries:\n    - { channel: email, distinct_id: p1 }\nprofiles:\n${profiles}`,
      'flow.yaml': `{ version: 1, profiles: [], "suppressions": { entries: [{ channel: sms, distinct_id: p2 }] } }\n`,
    });
    const { state, lines } = await load();
    expect(lines).toEqual([]);
    expect(state.profiles).toHaveLength(3000);
    expect(state.suppressions?.entries.map((e) => `${e.at.file}:${e.at.line} ${e.value}`)).toEqual(['big.yaml:4 p1', 'flow.yaml:1 p2']);
  });
});
