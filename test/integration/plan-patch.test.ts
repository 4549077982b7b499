/**
 * Issue #19 end to end: `plan --out` (the streaming plan path, snapshots dropped as it goes)
 * against the emulator over HTTP writes each changed profile's drift as RFC 6902 JSON Patch in
 * `profiles`; applied with fast-json-patch to the live documents read over HTTP, the patches give
 * the documents read after `apply --plan` of the same plan. Secrets stay masked.
 */
import { readFileSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import jsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managesPreferences } from '../../src/create-plan.js';
import { loadDesired } from '../../src/desired/load.js';
import type { DesiredState } from '../../src/desired/types.js';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import type { DistinctId } from '../../src/fyno/types.js';
import { profileDocument } from '../../src/plan/document.js';
import { parsePlan } from '../../src/plan/plan-file.js';
import { profileIdOf, type Plan } from '../../src/plan/types.js';
import { envFor, EXAMPLE, KEY, runCli, startSeeded, tempDir, WSID } from '../cli/harness.js';

const SEED = JSON.parse(readFileSync(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')) as unknown;
const SECRET_NAME = 'Meera From-The-Environment';
const TOKEN = 'ExponentPushToken[patch-test-0000001]';

// One more file beside the example: a value from ${VAR} and a push token, both secrets.
const EXTRA = `version: 1
profiles:
  - distinct_id: env-1
    name: \${PATCH_TEST_NAME}
    channels:
      push: [{ token: "${TOKEN}", integration_id: IEXPO01 }]
    properties: { tags: [b, a] }
`;

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
let api: HttpFynoClient;
beforeAll(async () => {
  emu = await startSeeded(SEED);
  tmp = await tempDir();
  api = new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: WSID, env: 'live' }, apiKey: KEY, retry: { limit: 0, baseDelayMs: 1, maxDelayMs: 1 } });
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

/** The document of every profile the plan depends on, read over HTTP as the planner reads it. */
async function documents(desired: DesiredState): Promise<Map<DistinctId, unknown>> {
  const out = new Map<DistinctId, unknown>();
  for (const d of desired.profiles) {
    const prefs = managesPreferences(d);
    for (const id of [d.distinct_id, ...(d.state === 'present' ? d.merge_from : [])]) {
      const profile = await api.getProfile(id);
      const preferences = prefs ? await api.getPreferences(id) : undefined;
      out.set(id, profileDocument({ distinct_id: id, sensitive: id === d.distinct_id ? d.sensitive : [] }, profile, preferences));
    }
  }
  return out;
}

describe('plan --out: profiles carry their drift as JSON Patch', () => {
  it('turns the live documents read over HTTP into the documents after apply, secrets masked, nothing for unchanged profiles', async () => {
    const files = path.join(tmp.dir, 'profiles');
    await cp(EXAMPLE, files, { recursive: true });
    await writeFile(path.join(files, 'extra.yaml'), EXTRA);
    const env = envFor(emu, { PATCH_TEST_NAME: SECRET_NAME });
    const { state: desired, issues } = await loadDesired([files], { env, cwd: tmp.dir });
    expect(issues).toEqual([]);

    const r = await runCli(['plan', 'profiles', '--out', 'plan.json'], env, { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const text = await readFile(path.join(tmp.dir, 'plan.json'), 'utf8');
    expect(text).not.toContain(SECRET_NAME);
    expect(text).not.toContain(TOKEN);
    const plan: Plan = parsePlan(text, 'plan.json');
    const drift = plan.profiles!;
    // The example: 4 creates, 1 update, 1 merge (its source goes away), 2 deletes, 1 unchanged.
    const changed = new Set(plan.operations.map((o) => profileIdOf(o)));
    for (const o of plan.operations) if (o.type === 'profile.merge') changed.add(o.from);
    expect(Object.keys(drift).sort()).toEqual([...changed].sort());
    expect(drift['env-1']!.patch).toEqual([
      {
        op: 'add',
        path: '',
        value: {
          distinct_id: 'env-1',
          name: { $secret: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
          status: 'active',
          channels: { push: [{ token: { $secret: expect.stringMatching(/^sha256:/) }, integration_id: 'IEXPO01' }] },
          properties: { tags: ['a', 'b'] },
        },
      },
    ]);

    const before = await documents(desired);
    const a = await runCli(['apply', '--plan', 'plan.json', '--allow-delete', '--yes'], env, { cwd: tmp.dir });
    expect(a.code, a.stderr).toBe(0);
    const after = await documents(desired);

    const unchanged = desired.profiles.filter((d) => !changed.has(d.distinct_id)).map((d) => d.distinct_id);
    expect(unchanged.length).toBeGreaterThan(0);
    const merged = new Set(plan.operations.filter((o) => o.type === 'profile.merge').map((o) => o.distinct_id));
    for (const [id, live] of before) {
      const patch = (drift[id]?.patch ?? []) as jsonPatch.Operation[];
      const patched = jsonPatch.applyPatch(structuredClone(live), patch, true, false).newDocument;
      // A merge target's patch starts from the planner's prediction, which leaves the source's
      // preferences out (docs/planner.md, "Drift as JSON Patch").
      const strip = (doc: unknown) => (merged.has(id) && doc ? { ...(doc as Record<string, unknown>), preferences: undefined } : doc);
      expect(strip(patched), `${id}: ${JSON.stringify(patch)}`).toEqual(strip(after.get(id)));
    }
    for (const id of unchanged) expect(drift[id]).toBeUndefined();
  });
});
