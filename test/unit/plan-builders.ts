/** Builders for planner tests (STYLE.md, "Testing habits"): plain data in, exact operations out. */
import type { DesiredProfile, DesiredProperty, DesiredState, SourceRef } from '../../src/desired/types.js';
import type { ActualPreferences, ActualProfile, PreferenceChannel, PreferenceStatus, ChannelConfig, Topic } from '../../src/fyno/types.js';
import type { ActualSnapshot, PlanTarget } from '../../src/plan/types.js';

export const AT: SourceRef = { file: 'profiles.yaml', line: 1, column: 3 };
export const TARGET: PlanTarget = { base_url: 'http://127.0.0.1:4010/v1', workspace: 'WS1', env: 'test' };
export const CREATED_AT = '2026-01-02T03:04:05.000Z';

export function profile(distinct_id: string, fields: Partial<Omit<DesiredProfile, 'distinct_id'>> = {}): DesiredProfile {
  return {
    distinct_id,
    at: AT,
    refs: { file: AT.file, keys: [], pos: [] },
    state: 'present',
    protected: false,
    merge_from: [],
    exact: { properties: false, preferences: false },
    sensitive: [],
    ...fields,
  };
}

export function desired(...profiles: DesiredProfile[]): DesiredState {
  return { profiles, files: ['profiles.yaml'] };
}

export function live(distinct_id: string, fields: Partial<Omit<ActualProfile, 'distinct_id'>> = {}): ActualProfile {
  return { distinct_id, status: 'active', channels: {}, properties: {}, server: {}, ...fields };
}

export function set(value: DesiredProperty extends infer T ? (T extends { op: 'set'; value: infer V } ? V : never) : never): DesiredProperty {
  return { op: 'set', value };
}

/** Channels a test topic offers unless told otherwise. */
const ON: Partial<Record<PreferenceChannel, ChannelConfig>> = { sms: 'on', email: 'on', whatsapp: 'on', push: 'on', inapp: 'on' };

export function topic(
  subscription_id: string,
  preference: Partial<Record<PreferenceChannel, PreferenceStatus>> = {},
  channel_config: Partial<Record<PreferenceChannel, ChannelConfig>> = {},
): Topic {
  return { subscription_id, name: subscription_id, section: 'General', channel_config: { ...ON, ...channel_config }, preference };
}

export function prefs(topics: Topic[] = [], all: ActualPreferences['all'] = {}): ActualPreferences {
  return { all, topics };
}

/** Snapshot map: `null` profile = does not exist. */
export function actual(...entries: Array<[string, ActualProfile | null, ActualPreferences?]>): Map<string, ActualSnapshot> {
  return new Map(entries.map(([id, p, pr]) => [id, { profile: p, ...(pr ? { preferences: pr } : {}) }]));
}
