/**
 * FynoStore: the emulator's whole state, as plain data.
 *
 * State is kept per (workspace, env): `live` and `test` never share profiles, topics,
 * preferences or property types (every profile path carries `{version}`,
 * fyno-notification-events-openapi.yml). Suppressions are per workspace only: their paths have
 * no `{version}` (`/{WSID}/suppressions`).
 *
 * The store holds no request logic (see api-*.ts) and no I/O (see persistence.ts). Everything in
 * it is JSON-safe through `toJSON`/`fromJSON`, which is how snapshots are written.
 */
import type { ChannelConfig, ChannelName, PreferenceChannel, PreferenceStatus, PropertyBatchItem, PropertyValue, Token } from '../types.js';
import { keyedRecord, type PropertyKind } from '../../plan/normalize.js';

export type Env = 'live' | 'test';

export interface StoredChannels {
  sms?: string;
  whatsapp?: string;
  voice?: string;
  email?: string;
  slack?: string;
  discord?: string;
  teams?: string;
  push?: Token[];
  inapp?: Token[];
}

export interface ProfileRecord {
  distinct_id: string;
  profile_id: string;
  name?: string;
  status: 0 | 1;
  timezone?: string;
  /** Derived from `timezone` when it is written (README, "Derived fields"). */
  timezone_offset: string;
  /** Derived from `channels.sms` when it is written. */
  country_code: string;
  channels: StoredChannels;
  properties: Record<string, PropertyValue>;
  id_list: string[];
  created_at: string;
  updated_at: string;
}

export interface TopicDef {
  subscription_id: string;
  name: string;
  section: string;
  description: string;
  channel_config: Partial<Record<PreferenceChannel, ChannelConfig>>;
  notification_events: { event_id: string; event_name: string }[];
}

export interface PrefEntry {
  status: PreferenceStatus;
  updated_at: string;
}

/** One user's explicit choices; anything absent is the default (`opted-in`). */
export interface UserPrefs {
  all: Partial<Record<PreferenceChannel, PrefEntry>>;
  topics: Record<string, Partial<Record<PreferenceChannel, PrefEntry>>>;
}

export interface PendingPropertyOp {
  request_id: string;
  workspace: string;
  env: Env;
  accepted_at: string;
  items: PropertyBatchItem[];
}

export interface RecordedEvent {
  request_id: string;
  received_time: string;
  body: unknown;
}

/**
 * A notification event the workspace has (declared by seeding). Once a space has any, events
 * of other names are refused (EventNameDoesNotExist). `channels`: the channels the event has
 * templates for; absent = every channel the recipient has.
 */
export interface EventDef {
  name: string;
  channels?: ChannelName[];
}

/** One message the emulator would have sent for a fired event (admin `GET /_emulator/sent`). */
export interface SentMessage {
  request_id: string;
  msg_id: string;
  event: string;
  channel: ChannelName;
  destination: string;
  distinct_id?: string;
  data?: unknown;
  sent_at: string;
}

/** An OTP a client can validate (`POST /verify/validate`): issued by the admin API or an event's `data.otp`. */
export interface OtpRecord {
  otp: string;
  destination?: string;
  request_id?: string;
  issued_at: string;
}

export interface SuppressionRecord {
  _id: string;
  channel: string;
  distinct_id?: string;
  destination?: string;
  description?: string;
  created_at: string;
  /** Seeded only (the API cannot set it): once past, the entry is no longer listed. */
  expiry_ts?: string;
}

export interface Space {
  profiles: Map<string, ProfileRecord>;
  /** `undefined` until seeded: the default topics apply (topics.ts). */
  topics: TopicDef[] | undefined;
  preferences: Map<string, UserPrefs>;
  propertyTypes: Map<string, PropertyKind>;
  events: RecordedEvent[];
  /** `undefined` until events are declared: any event name is accepted. */
  declaredEvents: EventDef[] | undefined;
  sent: SentMessage[];
  otps: OtpRecord[];
}

/** Events are recorded for inspection only; keep the newest few so memory stays flat. */
export const MAX_RECORDED_EVENTS = 1000;
/** Messages "sent" kept for inspection, newest last. */
export const MAX_SENT_MESSAGES = 10_000;

export class FynoStore {
  private readonly spaces = new Map<string, Space>();
  readonly suppressions = new Map<string, SuppressionRecord[]>();
  /** Accepted property requests not applied yet, oldest first. */
  pending: PendingPropertyOp[] = [];
  /**
   * Monotonic counter behind every generated id (profile_id, request_id, suppression _id), so
   * that replaying the write-ahead log regenerates the same ids. Never reset, not even by reset().
   */
  counter = 0;
  /** Incremented by every mutation; the engine compares it to know a request changed state. */
  mutations = 0;

  space(workspace: string, env: Env): Space {
    const key = `${workspace}\u0000${env}`;
    let s = this.spaces.get(key);
    if (!s) {
      s = { profiles: new Map(), topics: undefined, preferences: new Map(), propertyTypes: new Map(), events: [], declaredEvents: undefined, sent: [], otps: [] };
      this.spaces.set(key, s);
    }
    return s;
  }

  suppressionList(workspace: string): SuppressionRecord[] {
    let l = this.suppressions.get(workspace);
    if (!l) {
      l = [];
      this.suppressions.set(workspace, l);
    }
    return l;
  }

  touch(): void {
    this.mutations += 1;
  }

  /** A 24-hex id shaped like Fyno's `profile_id` (a Mongo ObjectId). */
  nextObjectId(): string {
    this.counter += 1;
    return `65e0${this.counter.toString(16).padStart(20, '0')}`;
  }

  /** A UUID-shaped id for `request_id`. */
  nextRequestId(): string {
    this.counter += 1;
    const hex = this.counter.toString(16).padStart(12, '0');
    return `00000000-0000-4000-8000-${hex}`;
  }

  reset(): void {
    this.spaces.clear();
    this.suppressions.clear();
    this.pending = [];
    this.touch();
  }

  toJSON(): StoreSnapshot {
    const spaces: StoreSnapshot['spaces'] = [];
    for (const [key, s] of this.spaces) {
      const [workspace, env] = key.split('\u0000') as [string, Env];
      spaces.push({
        workspace,
        env,
        profiles: [...s.profiles.values()],
        topics: s.topics ?? null,
        preferences: Object.fromEntries(s.preferences),
        propertyTypes: Object.fromEntries(s.propertyTypes),
        events: s.events,
        declaredEvents: s.declaredEvents ?? null,
        sent: s.sent,
        otps: s.otps,
      });
    }
    return {
      format: 1,
      counter: this.counter,
      spaces,
      suppressions: Object.fromEntries(this.suppressions),
      pending: this.pending,
    };
  }

  static fromJSON(snap: StoreSnapshot): FynoStore {
    if (snap.format !== 1) throw new Error(`unsupported emulator state format ${String(snap.format)}`);
    const st = new FynoStore();
    st.counter = snap.counter;
    for (const s of snap.spaces) {
      const sp = st.space(s.workspace, s.env);
      // User keys go back into keyed records (no prototype), as the handlers make them.
      for (const p of s.profiles) sp.profiles.set(p.distinct_id, { ...p, properties: Object.assign(keyedRecord<PropertyValue>(), p.properties) });
      sp.topics = s.topics ?? undefined;
      for (const [k, v] of Object.entries(s.preferences)) sp.preferences.set(k, { all: v.all, topics: Object.assign(keyedRecord<UserPrefs['topics'][string]>(), v.topics) });
      for (const [k, v] of Object.entries(s.propertyTypes)) sp.propertyTypes.set(k, v);
      sp.events = s.events;
      // Absent in snapshots written before events could be declared (same format 1).
      sp.declaredEvents = s.declaredEvents ?? undefined;
      sp.sent = s.sent ?? [];
      sp.otps = s.otps ?? [];
    }
    for (const [k, v] of Object.entries(snap.suppressions)) st.suppressions.set(k, v);
    st.pending = snap.pending;
    return st;
  }

  /** Replace this store's contents with another's (used when loading persisted state). */
  replaceWith(other: FynoStore): void {
    this.spaces.clear();
    for (const [k, v] of other.spaces) this.spaces.set(k, v);
    this.suppressions.clear();
    for (const [k, v] of other.suppressions) this.suppressions.set(k, v);
    this.pending = other.pending;
    this.counter = other.counter;
    this.touch();
  }
}

export interface StoreSnapshot {
  format: 1;
  counter: number;
  spaces: {
    workspace: string;
    env: Env;
    profiles: ProfileRecord[];
    topics: TopicDef[] | null;
    preferences: Record<string, UserPrefs>;
    propertyTypes: Record<string, PropertyKind>;
    events: RecordedEvent[];
    declaredEvents?: EventDef[] | null;
    sent?: SentMessage[];
    otps?: OtpRecord[];
  }[];
  suppressions: Record<string, SuppressionRecord[]>;
  pending: PendingPropertyOp[];
}
