/**
 * The validated, normalised desired state: what the YAML files ask for.
 *
 * Key presence decides what is managed (../shared/PRODUCT.md, "Desired state"):
 * an omitted key is `undefined` here (unmanaged, never touched); an explicit YAML `null`
 * becomes `null` (channel) or `{ op: 'unset' }` (property): remove; a present list is exact.
 */
import type {
  DistinctId,
  PreferenceUpdate,
  ProfileStatus,
  PropertyValue,
  SingleChannelName,
  Token,
  TokenChannelName,
} from '../fyno/types.js';

/** 1-based line and column in a file, as the `yaml` package's line counter gives them. */
export interface SourceRef {
  file: string;
  line: number;
  column: number;
}

/**
 * Where the keys of a profile's managed fields are, kept compactly (100,000 profiles hold
 * millions of them): `keys[i]`, a dotted field path (`name`, `channels.email`, `channels.push`,
 * `preferences.all.sms`, `properties.plan`, `merge_from`), is at line `pos[2i]`, column
 * `pos[2i + 1]` of `file`. Plain data, so that it survives `structuredClone`.
 */
export interface FieldRefs {
  file: string;
  keys: string[];
  pos: number[];
}

/** The source position of one field path in `refs`, if the file names it. */
export function fieldRef(refs: FieldRefs, key: string): SourceRef | undefined {
  const i = refs.keys.indexOf(key);
  return i < 0 ? undefined : { file: refs.file, line: refs.pos[2 * i]!, column: refs.pos[2 * i + 1]! };
}

/** Every field path of `refs` with its position, in order. */
export function fieldRefEntries(refs: FieldRefs): [string, SourceRef][] {
  return refs.keys.map((k, i) => [k, { file: refs.file, line: refs.pos[2 * i]!, column: refs.pos[2 * i + 1]! }]);
}

export type DesiredProperty =
  | { op: 'set'; value: PropertyValue }
  /** `{ $once: value }`: set only while the property is unset. */
  | { op: 'once'; value: PropertyValue }
  /** YAML `null`: unset. */
  | { op: 'unset' };

export type DesiredChannels = { [K in SingleChannelName]?: string | null } & {
  [K in TokenChannelName]?: Token[] | null;
};

/** Opt-in exact management: remove keys fyno-sync set before that the file no longer names. */
export interface ExactManagement {
  properties: boolean;
  preferences: boolean;
}

export interface DesiredProfile {
  distinct_id: DistinctId;
  /** Where the profile's mapping starts. */
  at: SourceRef;
  /** Source position of the key of each managed field (from the profile or its file's `defaults`). */
  refs: FieldRefs;
  state: 'present' | 'absent';
  /** Never deleted or merged away, whatever the files say. */
  protected: boolean;
  /** Profiles merged into this one before anything else, in file order. */
  merge_from: DistinctId[];
  name?: string;
  status?: ProfileStatus;
  /** IANA name from Fyno's timezone list. */
  timezone?: string;
  channels?: DesiredChannels;
  /** Topic id or `all` → channel → status. Only the named topics and channels are managed. */
  preferences?: PreferenceUpdate;
  properties?: Record<string, DesiredProperty>;
  exact: ExactManagement;
  /**
   * Dotted paths (as in `refs`) whose value came wholly or partly from `${VAR}`:
   * masked in every output.
   */
  sensitive: string[];
}

/** How much of the suppression list the files own (schemas/desired-state.schema.json, `suppressions.manage`). */
export type SuppressionManage = 'merge' | 'exact' | 'exact-all';

/** One `suppressions.entries` item, validated and with its key normalised for its channel. */
export interface DesiredSuppression {
  channel: string;
  /** Which identifier the entry names, and its value (phones in E.164, emails with a lower-case domain). */
  key: 'destination' | 'distinct_id';
  value: string;
  description?: string;
  state: 'present' | 'absent';
  /** Where the entry's mapping starts. */
  at: SourceRef;
}

export interface DesiredSuppressions {
  manage: SuppressionManage;
  /** Where `manage` is set (or the first file's `suppressions` key): the source of exact removals. */
  at: SourceRef;
  entries: DesiredSuppression[];
}

export interface DesiredState {
  /** In a stable order: by file, then position in the file. */
  profiles: DesiredProfile[];
  /** Set when any file has a `suppressions:` key: the workspace list is then managed. */
  suppressions?: DesiredSuppressions;
  /** The files that were read, as given/resolved (relative to cwd where possible). */
  files: string[];
}

export interface ValidationIssue {
  file: string;
  line: number;
  column: number;
  /** The profile's distinct_id when known. */
  distinct_id?: string;
  /** Dotted field path, e.g. `profiles[3].channels.sms` or `channels.sms`. */
  field?: string;
  message: string;
}
