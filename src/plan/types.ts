/**
 * Plans and operations: one plain, JSON-safe discriminated union (no classes, Dates or Maps),
 * so `JSON.parse(JSON.stringify(plan))` deep-equals `plan`. The `type` values are the machine
 * contract of `plan --json` (../shared/PRODUCT.md, "Commands").
 */
import type {
  ActualPreferences,
  ActualProfile,
  ChannelName,
  DistinctId,
  PreferenceChannel,
  PreferenceStatus,
  ProfileStatus,
  PropertyValue,
  Token,
} from '../fyno/types.js';
import type { SourceRef } from '../desired/types.js';

export type ProfileField = 'name' | 'status' | 'timezone';

export interface FieldChange {
  field: ProfileField;
  before?: string;
  after: string;
}

export interface ProfileFields {
  name?: string;
  status?: ProfileStatus;
  timezone?: string;
  channels?: { [K in ChannelName]?: string | Token[] };
}

/** Single destination (string) or push/inapp tokens to *insert*. */
export type ChannelValue = string | Token[];

interface OpBase {
  distinct_id: DistinctId;
  /** Where in the desired files this operation comes from. */
  at: SourceRef;
  /** Safe to repeat blindly when its outcome is unknown. */
  idempotent: boolean;
  /** The value came from `${VAR}` (or is a token): masked in every rendering. */
  sensitive?: boolean;
  /**
   * For `profile.create` / `profile.update` only: which fields hold an env-sourced value
   * (`name`, `timezone`, `channels.email`, …). Only those are masked; push/inapp tokens are
   * masked always. Absent on other types: a `sensitive` op masks all of its values.
   */
  sensitive_fields?: string[];
}

export type Operation =
  | (OpBase & { type: 'profile.create'; profile: ProfileFields })
  | (OpBase & { type: 'profile.update'; changes: FieldChange[] })
  /** `from` is merged into `distinct_id`; `rename` when the target did not exist when planned. */
  | (OpBase & { type: 'profile.merge'; from: DistinctId; rename: boolean })
  /**
   * `in_place`: the tokens in `value` are on the profile already and are written again with a
   * new integration_id/status (PATCH upserts push/inapp tokens by value); otherwise they are new.
   */
  | (OpBase & { type: 'channel.set'; channel: ChannelName; value: ChannelValue; before?: string; in_place?: true })
  /** Without `tokens`: the whole channel. With `tokens`: only those push/inapp tokens. */
  | (OpBase & { type: 'channel.delete'; channel: ChannelName; tokens?: string[]; before?: string })
  | (OpBase & {
      type: 'preference.set';
      topic: string;
      channel: PreferenceChannel;
      status: PreferenceStatus;
      before?: PreferenceStatus;
    })
  | (OpBase & {
      type: 'property.set' | 'property.set_once' | 'property.append' | 'property.remove';
      key: string;
      value: PropertyValue;
      before?: PropertyValue;
    })
  | (OpBase & { type: 'property.unset'; key: string; before?: PropertyValue })
  | (OpBase & { type: 'profile.delete' })
  | SuppressionOperation;

/**
 * One entry of the workspace suppression list (fyno-suppression-list-api-openapi.yml,
 * `add_suppression_list`): a channel and exactly one of `destination` or `distinct_id`.
 * `description` is as written on the wire (with fyno-sync's ownership marker when it adds one).
 */
export interface SuppressionEntry {
  channel: string;
  destination?: string;
  distinct_id?: string;
  description?: string;
}

interface SuppressionOpBase {
  entry: SuppressionEntry;
  at: SourceRef;
  idempotent: boolean;
}

/**
 * Workspace-wide operations (issue #18): not about one profile, so no `distinct_id` of their own.
 * `suppression.add` also changes the description of an entry that exists (`before` holds the live
 * one); `suppression.remove` deletes the record `_id` the plan read.
 */
export type SuppressionOperation =
  | (SuppressionOpBase & { type: 'suppression.add'; before?: { description?: string } })
  | (SuppressionOpBase & { type: 'suppression.remove'; _id: string });

/** Operations on one profile (every kind but the workspace's suppression list). */
export type ProfileOperation = Exclude<Operation, SuppressionOperation>;

export function isSuppressionOp(op: Operation): op is SuppressionOperation {
  return op.type === 'suppression.add' || op.type === 'suppression.remove';
}

export type OperationType = Operation['type'];

/**
 * Per-type facts the compiler keeps complete. `order` is the per-profile execution order
 * (PRODUCT.md, "Applying"): merge → create → profile fields → channels → properties → preferences;
 * delete alone. `asynchronous`: Fyno applies it after answering (202 + `request_id`), so apply
 * verifies it by re-reading (src/apply/verify.ts); what Fyno answered synchronously is not read again.
 */
export const OP_INFO = {
  'profile.merge': { symbol: '»', risky: true, order: 0, verb: 'merge', asynchronous: false },
  'profile.create': { symbol: '+', risky: false, order: 1, verb: 'create', asynchronous: false },
  'profile.update': { symbol: '~', risky: false, order: 2, verb: 'update', asynchronous: false },
  'channel.set': { symbol: '~', risky: false, order: 3, verb: 'set channel', asynchronous: false },
  'channel.delete': { symbol: '-', risky: true, order: 3, verb: 'delete channel', asynchronous: false },
  'property.set': { symbol: '~', risky: false, order: 4, verb: 'set property', asynchronous: true },
  'property.set_once': { symbol: '~', risky: false, order: 4, verb: 'set property once', asynchronous: true },
  'property.unset': { symbol: '-', risky: false, order: 4, verb: 'unset property', asynchronous: true },
  'property.append': { symbol: '+', risky: false, order: 4, verb: 'append to property', asynchronous: true },
  'property.remove': { symbol: '-', risky: false, order: 4, verb: 'remove from property', asynchronous: true },
  'preference.set': { symbol: '~', risky: false, order: 5, verb: 'set preference', asynchronous: false },
  'profile.delete': { symbol: '-', risky: true, order: 6, verb: 'delete', asynchronous: false },
  'suppression.add': { symbol: '+', risky: false, order: 7, verb: 'suppress', asynchronous: false },
  'suppression.remove': { symbol: '-', risky: true, order: 7, verb: 'unsuppress', asynchronous: false },
} as const satisfies Record<OperationType, { symbol: string; risky: boolean; order: number; verb: string; asynchronous: boolean }>;

export const OPERATION_TYPES = Object.keys(OP_INFO) as OperationType[];

/** Per-profile action, used for the summary line "Plan: 3 to create, 12 to update, …". */
export type ProfileAction = 'create' | 'update' | 'merge' | 'delete' | 'noop';

export interface PlanSummary {
  create: number;
  update: number;
  merge: number;
  delete: number;
  /** Profiles named in the desired state that need no change. */
  unchanged: number;
  operations: number;
  by_type: Partial<Record<OperationType, number>>;
  /** When the plan manages the suppression list (issue #18): entries to add (or re-describe) and to remove. */
  suppressions?: { add: number; remove: number };
}

/** Something the desired state asks for that cannot be planned (e.g. a `required` channel). */
export interface PlanIssue {
  distinct_id: DistinctId;
  at: SourceRef;
  field: string;
  message: string;
}

export interface PlanTarget {
  base_url: string;
  workspace: string;
  env: 'live' | 'test';
}

export const PLAN_FORMAT_VERSION = 1 as const;

export interface Plan {
  /** The reader rejects other versions. */
  readonly format_version: typeof PLAN_FORMAT_VERSION;
  /** From an injected clock. */
  readonly created_at: string;
  readonly target: PlanTarget;
  /** Desired-state paths the plan was computed from. */
  readonly sources: readonly string[];
  /**
   * Content hash of each source file (`sha256:<hex>`), recorded when the plan has merges: apply
   * re-plans a merged profile after its merge from these files, and refuses when they changed.
   */
  readonly source_hashes?: Readonly<Record<string, string>>;
  /**
   * Fingerprint of each profile as read (profile + preferences when read), `absent` when it did
   * not exist. Apply of a saved plan refuses to write if any differs now (`plan.stale`).
   */
  readonly preconditions: Readonly<Record<DistinctId, string>>;
  /**
   * When the files manage the suppression list (issue #18): the fingerprint of the list as read
   * and how many records it held. Apply of a saved plan re-reads the list and refuses to write
   * when it changed (`plan.stale`).
   */
  readonly suppression_list?: { fingerprint: string; read: number };
  readonly summary: PlanSummary;
  readonly operations: readonly Operation[];
  /** Non-empty means the plan cannot be applied. */
  readonly issues: readonly PlanIssue[];
  /** Which profiles were in scope, when narrowed (`--target`, `--exclude`, `--shard`, incremental). */
  readonly scope?: PlanScope;
  /**
   * The drift as standard JSON Patch (issue #19): for each profile whose document the plan
   * changes, by distinct_id (sorted), the RFC 6902 operations that turn its live document into
   * the desired one (src/plan/document.ts, docs/planner.md "Drift as JSON Patch"). Secrets are
   * already masked. Documentation only: apply executes `operations`. Absent in plans written
   * before it existed.
   */
  readonly profiles?: Readonly<Record<DistinctId, ProfileDrift>>;
}

/** One RFC 6902 operation, of the kinds a document diff produces. `path` is an RFC 6901 pointer. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export interface ProfileDrift {
  /** Never empty: a profile whose document does not change has no entry. */
  patch: JsonPatchOperation[];
}

export interface PlanScope {
  target?: string[];
  exclude?: string[];
  shard?: { index: number; count: number };
  /**
   * `--changed-since`: `since` as given, `revision` the commit it resolved to, `skipped` the
   * unchanged profiles not planned, `removed` the profiles the files no longer name (unmanaged).
   */
  incremental?: { since: string; revision: string; skipped: number; removed?: number };
  /** Profiles named in the desired state but left out of this plan. */
  skipped: number;
}

/**
 * What the fetcher read for one distinct_id: the profile (`null` when it does not exist) and,
 * when the desired profile names preferences, its preferences. The fetcher also reads
 * preferences for profiles that are about to be created (Fyno answers with the workspace topics
 * and their default preferences), so the planner can check topic ids and `required` channels.
 */
export interface ActualSnapshot {
  profile: ActualProfile | null;
  preferences?: ActualPreferences;
}

/** Narrowing of the desired state and planner knobs. All pure data. */
export interface PlanOptions {
  /** Only profiles whose distinct_id matches one of these globs (picomatch). */
  target?: string[];
  /** Leave out profiles whose distinct_id matches one of these globs. */
  exclude?: string[];
  /** `--shard K/N`: only the profiles whose distinct_id hashes to shard K of N (src/plan/shard.ts). */
  shard?: { index: number; count: number };
  /** Only these distinct_ids (exact), e.g. the profiles an incremental plan found changed. */
  only?: ReadonlySet<DistinctId>;
}

/** The profile an operation is about; `undefined` for the suppression list's operations. */
export function profileIdOf(op: Operation): DistinctId | undefined {
  return isSuppressionOp(op) ? undefined : op.distinct_id;
}

/** A suppression entry as one reads it: `sms +919812345678` or `email distinct_id cust-1001`. */
export function suppressionName(e: SuppressionEntry): string {
  return e.distinct_id !== undefined ? `${e.channel} distinct_id ${e.distinct_id}` : `${e.channel} ${e.destination ?? ''}`;
}

/** What an operation is about, for events and failures: its profile, or the list entry. */
export function opSubject(op: Operation): string {
  if (!isSuppressionOp(op)) return op.distinct_id;
  return `suppression ${suppressionName(op.entry)}`.trimEnd();
}
