/**
 * `import` produces suppression list entries from a yes/no column (issue #18): written to
 * suppressions.yaml, loaded with the profiles, planned, applied, and then planned empty.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempTree } from '../support/temp-tree.js';
import { applyPlan } from '../../src/apply/apply.js';
import { createPlan } from '../../src/create-plan.js';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { importFile } from '../../src/import/import.js';
import { parseMapping } from '../../src/import/mapping.js';

const tmp = useTempTree('fyno-import-suppr-');

const MAPPING = `version: 1
distinct_id: id
channels:
  email: email
  sms: phone
suppressions:
  - { column: unsubscribed, channel: email, by: destination, description: unsubscribed in CRM }
  - { column: sms_stop, channel: sms, true_values: [STOP] }
`;
const CSV = `id,email,phone,unsubscribed,sms_stop
c1,one@Example.com,+919812345678,yes,
c2,two@example.com,+14155550123,no,STOP
c3,ONE@example.com,+14155550100,yes,
c4,four@example.com,,maybe,
`;

describe('import: suppressions from a CSV column', () => {
  it('writes the entries of the rows that say yes, once each, and they converge', async () => {
    const parsed = parseMapping('mapping.yaml', MAPPING);
    if ('issues' in parsed) throw new Error(parsed.issues.map(formatIssue).join('\n'));
    await writeFile(path.join(tmp.dir, 'contacts.csv'), CSV);
    const r = await importFile({ input: path.join(tmp.dir, 'contacts.csv'), mapping: parsed.mapping, outDir: path.join(tmp.dir, 'out'), rejectsFile: path.join(tmp.dir, 'rejects.csv') });
    expect(r.profiles).toBe(3);
    expect(r.rejected).toBe(1);
    expect(r.files).toContain('suppressions.yaml');
    const text = await readFile(path.join(tmp.dir, 'out', 'suppressions.yaml'), 'utf8');
    expect(text).toContain('suppressions:\n  manage: merge\n  entries:\n');

    const { state, issues } = await loadDesired([path.join(tmp.dir, 'out')], { env: {}, cwd: tmp.dir, workers: 0 });
    expect(issues.map(formatIssue)).toEqual([]);
    expect(state.suppressions?.entries.map((e) => `${e.channel} ${e.key} ${e.value} ${e.description ?? ''}`.trim())).toEqual([
      'email destination one@example.com unsubscribed in CRM',
      'sms distinct_id c2',
      'email destination ONE@example.com unsubscribed in CRM',
    ]);

    const api = new MemoryFyno();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    const first = await createPlan({ api, now: () => new Date(0) }, state, { destination });
    expect(first.plan.summary.suppressions).toEqual({ add: 3, remove: 0 });
    const applied = await applyPlan(first.plan, { api }, { concurrency: 4, allowDelete: false, maxDeletes: 0 });
    expect(applied.operations.failed).toBe(0);
    const again = await createPlan({ api, now: () => new Date(0) }, state, { destination });
    expect(again.plan.operations).toEqual([]);
  });

  it('refuses by: destination when the mapping does not map that channel', () => {
    const parsed = parseMapping('mapping.yaml', 'version: 1\ndistinct_id: id\nsuppressions:\n  - { column: u, channel: whatsapp, by: destination }\n');
    expect('issues' in parsed && parsed.issues.map(formatIssue)).toEqual([
      'mapping.yaml:4:41: suppressions[0].by: by: destination needs the whatsapp destination mapped under channels.whatsapp',
    ]);
  });
});
