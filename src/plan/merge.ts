/**
 * What a merge does, as far as the planner can predict it.
 *
 * `PATCH /profiles/{source}/merge/{target}` (fyno-manage-user-profiles-api-openapi.yml): "The
 * profile with source distinct ID is merged with the target profile, after which the source
 * profile is automatically deleted. If the target distinct ID does not exist, the source
 * distinct ID is updated to target distinct ID." The spec does not say which side wins a
 * conflict. Assumption (documented in docs/planner.md): the **target wins** every field it has;
 * the source only fills what the target lacks — name/timezone, single channels, property keys;
 * push/inapp tokens are the union (target's entry wins for the same token string). Apply re-reads
 * the profile after every merge and re-plans the rest (PRODUCT.md, "Applying"), so a wrong guess
 * here costs a different re-plan, never a wrong write.
 */
import type { ActualPreferences, ActualProfile, DistinctId, PropertyValue, Token } from '../fyno/types.js';
import { TOKEN_CHANNELS, SINGLE_CHANNELS } from '../fyno/types.js';
import { keyedRecord } from './normalize.js';

/** The profile after merging `source` into existing `target`. Pure; inputs are not modified. */
export function predictMerge(target: ActualProfile, source: ActualProfile): ActualProfile {
  const channels: ActualProfile['channels'] = { ...target.channels };
  for (const c of SINGLE_CHANNELS) {
    if (channels[c] === undefined && source.channels[c] !== undefined) channels[c] = source.channels[c];
  }
  for (const c of TOKEN_CHANNELS) {
    const mine = target.channels[c];
    const theirs = source.channels[c];
    if (theirs === undefined) continue;
    const seen = new Set((mine ?? []).map((t) => t.token));
    const merged: Token[] = [...(mine ?? [])];
    for (const t of theirs) if (!seen.has(t.token)) merged.push({ ...t });
    channels[c] = merged;
  }
  const out: ActualProfile = {
    ...target,
    channels,
    properties: Object.assign(keyedRecord<PropertyValue>(), source.properties, target.properties),
    server: { ...target.server },
  };
  if (out.name === undefined && source.name !== undefined) out.name = source.name;
  if (out.timezone === undefined && source.timezone !== undefined) out.timezone = source.timezone;
  return out;
}

/** The profile after `source` is renamed to `target` (merge into a target that does not exist). */
export function predictRename(source: ActualProfile, target: DistinctId): ActualProfile {
  return { ...source, distinct_id: target, channels: { ...source.channels }, properties: { ...source.properties } };
}

/**
 * Preferences after a merge. Preferences are stored per distinct_id: we assume the target keeps
 * its own, and a renamed source keeps the source's (falling back to what was read for the
 * target, e.g. workspace defaults).
 */
export function predictMergePreferences(
  target: ActualPreferences | undefined,
  source: ActualPreferences | undefined,
  renamed: boolean,
): ActualPreferences | undefined {
  return renamed ? (source ?? target) : target;
}
