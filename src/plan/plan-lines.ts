/**
 * A saved plan read line by line (issue #17, "Memory"): `serializePlanChunks` writes the head
 * (everything but `operations` and `profiles`) as indented JSON, then one operation per line,
 * then one profile's JSON Patch per line. `PlanLines` takes such a text a line at a time and hands
 * out each operation as it is read, so that `apply --plan` of a million operations never holds
 * the file's text nor all of its operations at once.
 *
 * It accepts only that layout, and only what `parsePlan` accepts (the same schema, each part
 * checked on its own): anything else — another layout, invalid JSON, a schema error — throws
 * `NotLineByLine`, and the caller reads the file with `parsePlan`, whose error (or plan) is then
 * exactly the one it always gave. The hash it computes is `planHash` of the plan `parsePlan`
 * returns (journal.ts), without building that plan.
 */
import { stableStringify } from './normalize.js';
import { SummaryTally } from './build.js';
import { planPartValidators, summaryMismatch } from './plan-file.js';
import { TextHash } from './text-hash.js';
import { PLAN_FORMAT_VERSION, type Operation, type Plan } from './types.js';

/** The text is not a plan in the line-by-line layout, or not a valid one: read it whole. */
export class NotLineByLine extends Error {
  constructor(reason: string) {
    super(`not a line-by-line plan: ${reason}`);
    this.name = 'NotLineByLine';
  }
}

const OPS_OPEN = '  "operations": [';
const PROFILES_OPEN = '  "profiles": {';

type State = 'head' | 'ops' | 'after-ops' | 'profiles-open' | 'profiles' | 'end';

export interface PlanLinesResult {
  /** The plan without `operations` (empty) and `profiles` (left out): small. */
  head: Plan;
  /** `planHash` of the whole plan. */
  hash: string;
  /** How many operations the plan has. */
  total: number;
}

/** Whether `k` is an array index, a key that objects order first, numerically (ECMA-262 OrdinaryOwnPropertyKeys). */
function isArrayIndex(k: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
}

/** Whether key `a` comes before `b` in the key order of `stableStringify`'s sorted copy. */
function stableBefore(a: string, b: string): boolean {
  const ia = isArrayIndex(a);
  const ib = isArrayIndex(b);
  if (ia && ib) return Number(a) < Number(b);
  if (ia !== ib) return ia;
  return a < b;
}

export class PlanLines {
  private state: State = 'head';
  private headLines: string[] = [];
  private head: Record<string, unknown> | undefined;
  private keys: string[] = [];
  private readonly hash: TextHash | undefined;
  private first = true;
  private count = 0;
  /** Checking: the operations read, for the summary. */
  private readonly tally = new SummaryTally();
  /** The last operation (or profile) line ended with a comma: another must follow. */
  private comma = false;
  private hasProfiles = false;
  private lastProfile: string | undefined;
  private readonly validate: boolean;

  /** `check`: validate each part against the schema and compute the hash (a plan not read before). */
  constructor(o: { check: boolean }) {
    this.validate = o.check;
    this.hash = o.check ? new TextHash() : undefined;
  }

  /** The head (not yet checked against the schema) once its lines are read, before any operation. */
  get headRead(): Readonly<Record<string, unknown>> | undefined {
    return this.head;
  }

  /** One line (without its newline). Returns the operation it holds, if any. */
  push(line: string): Operation | undefined {
    switch (this.state) {
      case 'head':
        if (line === OPS_OPEN || line === `${OPS_OPEN}],` || line === `${OPS_OPEN}]`) {
          this.startOps(line);
          return undefined;
        }
        this.headLines.push(line);
        return undefined;
      case 'ops':
        if (line === '  ]' || line === '  ],') {
          if (this.comma) throw new NotLineByLine('an operation line ends with a comma and none follows');
          this.endOps(line.endsWith(','));
          return undefined;
        }
        return this.operation(line);
      case 'after-ops':
        if (line !== '}') throw new NotLineByLine('expected the end of the plan');
        this.state = 'end';
        return undefined;
      case 'profiles-open':
        if (line === PROFILES_OPEN) {
          this.state = 'profiles';
          this.openProfiles();
          return undefined;
        }
        if (line === `${PROFILES_OPEN}}`) {
          this.openProfiles();
          this.closeProfiles();
          return undefined;
        }
        throw new NotLineByLine('expected "profiles" after the operations');
      case 'profiles':
        if (line === '  }') {
          if (this.comma) throw new NotLineByLine('a profile line ends with a comma and none follows');
          this.closeProfiles();
          return undefined;
        }
        this.profile(line);
        return undefined;
      case 'end':
        if (line.trim() !== '') throw new NotLineByLine('text after the end of the plan');
        return undefined;
      default:
        return this.state satisfies never;
    }
  }

  /** After the last line: the head, the hash and the count; throws `NotLineByLine` when the text was incomplete. */
  end(): PlanLinesResult {
    if (this.state !== 'end' || !this.head) throw new NotLineByLine('the plan is incomplete');
    // Read whole, the plan is refused with what its summary gets wrong (checkPlanDocument).
    if (this.validate && summaryMismatch((this.head as unknown as Plan).summary, this.tally)) throw new NotLineByLine('the summary does not count the operations');
    const hash = this.hash ? this.hash.digest() : '';
    return { head: { ...(this.head as unknown as Plan), operations: [] }, hash, total: this.count };
  }

  private startOps(line: string): void {
    const text = this.headLines.join('\n');
    this.headLines = [];
    if (!text.endsWith(',')) throw new NotLineByLine('the head does not end with a comma');
    let head: unknown;
    try {
      head = JSON.parse(`${text.slice(0, -1)}\n}`);
    } catch {
      throw new NotLineByLine('the head is not JSON');
    }
    if (head === null || typeof head !== 'object' || Array.isArray(head)) throw new NotLineByLine('the head is not an object');
    const h = head as Record<string, unknown>;
    if ('operations' in h || 'profiles' in h) throw new NotLineByLine('the head repeats a streamed key');
    if (h.format_version !== PLAN_FORMAT_VERSION) throw new NotLineByLine('another format version');
    this.head = h;
    this.state = 'ops';
    this.beginHash();
    // `"operations": []`, then the end or the profiles.
    if (line !== OPS_OPEN) this.endOps(line.endsWith(','));
  }

  /** The keys of the whole plan in stable order, and its hash up to `"operations":[`. */
  private beginHash(): void {
    this.keys = Object.keys(this.head!).concat('operations').sort();
    this.hash?.update('{');
    this.hashKeysUntil('operations');
    this.hash?.update('[');
  }

  /** Hashes the head's entries before `stop` (not yet hashed), then `stop`'s key. */
  private hashKeysUntil(stop: string | undefined): void {
    while (this.keys.length > 0) {
      const k = this.keys.shift()!;
      this.hash?.update(`${this.first ? '' : ','}${JSON.stringify(k)}:`);
      this.first = false;
      if (k === stop) return;
      this.hash?.update(stableStringify(this.head![k]) ?? 'null');
    }
  }

  private operation(line: string): Operation {
    if (this.count > 0 && !this.comma) throw new NotLineByLine('operation lines without a comma between them');
    const text = line.trim();
    this.comma = text.endsWith('},');
    if (!this.comma && !text.endsWith('}')) throw new NotLineByLine('an operation line is not one object');
    let op: unknown;
    try {
      op = JSON.parse(this.comma ? text.slice(0, -1) : text);
    } catch {
      throw new NotLineByLine('an operation line is not JSON');
    }
    if (op === null || typeof op !== 'object' || Array.isArray(op)) throw new NotLineByLine('an operation line is not an object');
    if (this.validate) {
      if (!planPartValidators().operation(op)) throw new NotLineByLine('an operation does not match the schema');
      this.tally.add([op as Operation]);
      this.hash!.update(`${this.count > 0 ? ',' : ''}${stableStringify(op)}`);
    }
    this.count += 1;
    return op as Operation;
  }

  private endOps(profilesFollow: boolean): void {
    this.hash?.update(']');
    this.comma = false;
    if (profilesFollow) {
      this.keys = this.keys.concat('profiles').sort();
      this.state = 'profiles-open';
    } else {
      this.finish();
    }
  }

  private openProfiles(): void {
    this.hasProfiles = true;
    this.hashKeysUntil('profiles');
    this.hash?.update('{');
  }

  private profile(line: string): void {
    if (this.lastProfile !== undefined && !this.comma) throw new NotLineByLine('profile lines without a comma between them');
    const text = line.trim();
    this.comma = text.endsWith('},');
    let entry: unknown;
    try {
      entry = JSON.parse(`{${this.comma ? text.slice(0, -1) : text}}`);
    } catch {
      throw new NotLineByLine('a profile line is not JSON');
    }
    const keys = Object.keys(entry as object);
    if (keys.length !== 1) throw new NotLineByLine('a profile line holds other than one profile');
    const id = keys[0]!;
    // The hash takes the profiles in its own key order: the file must have them in it.
    if (this.lastProfile !== undefined && !stableBefore(this.lastProfile, id)) throw new NotLineByLine('profiles out of order');
    const drift = (entry as Record<string, unknown>)[id];
    if (this.validate) {
      if (!planPartValidators().profile(drift)) throw new NotLineByLine('a profile does not match the schema');
      this.hash!.update(`${this.lastProfile !== undefined ? ',' : ''}${JSON.stringify(id)}:${stableStringify(drift)}`);
    }
    this.lastProfile = id;
  }

  private closeProfiles(): void {
    this.hash?.update('}');
    this.finish();
  }

  /** The head is checked against the schema with the streamed parts empty, each of which was checked on its own. */
  private finish(): void {
    this.state = 'after-ops';
    if (this.validate) {
      const doc = { ...this.head!, operations: [], ...(this.hasProfiles ? { profiles: {} } : {}) };
      if (!planPartValidators().plan(doc)) throw new NotLineByLine('the head does not match the schema');
    }
    this.hashKeysUntil(undefined);
    this.hash?.update('}');
  }
}
