/**
 * The naive migration script fyno-sync is measured against (issue #17): load the same desired
 * files, then for every profile, blindly, `POST /profiles` with its name and channels (on
 * `DistinctIDAlreadyExists`, `PUT /profiles/{id}` + `PATCH …/channel` instead), `POST
 * /profiles/{id}/properties` with every property it names, and `PUT /subscriptions/preference`
 * when it has preferences — through the same HttpFynoClient, at the same concurrency. It reads
 * nothing, verifies nothing, keeps no record and cannot resume. bench/naive-upsert.ts runs it as
 * a process of its own.
 */
import type { DesiredProfile } from '../src/desired/types.js';
import { isAlreadyExists } from '../src/fyno/errors.js';
import { forEachLimited } from '../src/fyno/pool.js';
import type { Channels, FynoApi, PropertyValue } from '../src/fyno/types.js';

async function upsert(api: FynoApi, p: DesiredProfile): Promise<number> {
  const id = p.distinct_id;
  const channels: Channels = {};
  for (const [k, v] of Object.entries(p.channels ?? {})) if (v !== null && v !== undefined) (channels as Record<string, unknown>)[k] = v;
  const fields = { ...(p.name !== undefined ? { name: p.name } : {}), ...(p.timezone !== undefined ? { timezone: p.timezone } : {}) };
  let sent = 1;
  try {
    await api.createProfile({ distinct_id: id, ...fields, channels });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    await api.updateProfile(id, fields, { idempotent: true });
    await api.upsertChannels(id, channels, { idempotent: true });
    sent += 2;
  }
  const values: Record<string, PropertyValue> = {};
  for (const [k, d] of Object.entries(p.properties ?? {})) if (d.op !== 'unset') values[k] = d.value;
  if (Object.keys(values).length > 0) {
    await api.setProperties(id, values, { idempotent: true });
    sent += 1;
  }
  if (p.preferences !== undefined && Object.keys(p.preferences).length > 0) {
    await api.setPreferences(id, p.preferences, { idempotent: true });
    sent += 1;
  }
  return sent;
}

/** Upserts every present profile; returns the requests sent (retries not counted). */
export async function naiveUpsert(api: FynoApi, profiles: readonly DesiredProfile[], concurrency: number): Promise<number> {
  let requests = 0;
  await forEachLimited(profiles, concurrency, async (p) => {
    if (p.state !== 'present') return;
    const sent = await upsert(api, p);
    requests += sent;
  });
  return requests;
}
