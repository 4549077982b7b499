/**
 * What `import` writes is what `plan` and `apply` converge on (issue #6, the crm-migration
 * walk-through): import → validate → plan → apply → plan again is empty. Runs the library
 * functions behind those commands against MemoryFyno (the emulator's engine, in process).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { createPlan } from '../../src/create-plan.js';
import { loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { importFile } from '../../src/import/import.js';
import { parseMapping } from '../../src/import/mapping.js';
import { writeContacts } from '../../scripts/gen-crm-export.js';

it('an imported export plans, applies, and then plans empty', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'fyno-import-converge-'));
  try {
    const csv = path.join(dir, 'contacts.csv');
    await writeContacts(csv, { rows: 300, seed: 3 });
    const mappingFile = fileURLToPath(new URL('../../examples/crm-migration/mapping.yaml', import.meta.url));
    const parsed = parseMapping('mapping.yaml', await readFile(mappingFile, 'utf8'));
    if ('issues' in parsed) throw new Error('example mapping is invalid');
    const r = await importFile({ input: csv, mapping: parsed.mapping, outDir: path.join(dir, 'profiles'), rejectsFile: path.join(dir, 'rejects.csv') });
    expect(r.profiles).toBeGreaterThan(250);

    const { state, issues } = await loadDesired([path.join(dir, 'profiles')], { env: {}, cwd: dir });
    expect(issues).toEqual([]);
    const api = new MemoryFyno();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    const first = await createPlan({ api, now: () => new Date(0) }, state, { destination, concurrency: 8 });
    expect(first.plan.summary.create).toBe(r.profiles);

    const applied = await applyPlan(first.plan, { api }, { concurrency: 8, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 5000, intervalMs: 50 } });
    expect({ failed: applied.operations.failed, notConverged: applied.not_converged }).toEqual({ failed: 0, notConverged: 0 });

    const again = await createPlan({ api, now: () => new Date(0) }, state, { destination, concurrency: 8 });
    expect(again.plan.operations).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
