/**
 * What the applier needs to know of all of a plan's operations before its first write: the
 * profiles with merges, the deletes and the suppression list's operations (run after the
 * profiles), how many profiles there are and whether each one's operations are together.
 * Gathered in one pass (`OutlineBuilder`): by the runner over the operations, or, for a saved
 * plan, while its file is scanned, so that a 300 MB plan is not read once more before its first
 * write (issue #17).
 */
import type { DistinctId } from '../fyno/types.js';
import { isSuppressionOp, type Operation } from '../plan/types.js';
import type { KeyedOp } from './groups.js';

export interface PlanOutline {
  /** Profiles with a merge (done or not): re-planned after it. */
  readonly merged: ReadonlySet<DistinctId>;
  /** The deletes still to do, in plan order. */
  readonly deletes: readonly KeyedOp[];
  /** The suppression list's operations still to do, in plan order. */
  readonly suppressions: readonly KeyedOp[];
  /** How many profiles the other operations still to do name. */
  readonly profiles: number;
  /** Whether each of those profiles' operations are together in the plan (as the planner writes them). */
  readonly together: boolean;
}

export class OutlineBuilder {
  readonly #merged = new Set<DistinctId>();
  readonly #deletes: KeyedOp[] = [];
  readonly #suppressions: KeyedOp[] = [];
  #ids = new Set<DistinctId>();
  #last: DistinctId | undefined;
  #together = true;

  /** The next operation of the plan; `todo`: not done already (only its merge is noted then). */
  add(k: KeyedOp, todo = true): void {
    const op: Operation = k.op;
    if (op.type === 'profile.merge') this.#merged.add(op.distinct_id);
    if (!todo) return;
    if (isSuppressionOp(op)) this.#suppressions.push(k);
    else if (op.type === 'profile.delete') this.#deletes.push(k);
    else if (op.distinct_id !== this.#last) {
      if (this.#ids.has(op.distinct_id)) this.#together = false;
      this.#ids.add(op.distinct_id);
      this.#last = op.distinct_id;
    }
  }

  /** The outline; the builder lets go of the profile ids it counted. */
  done(): PlanOutline {
    const profiles = this.#ids.size;
    this.#ids = new Set();
    return { merged: this.#merged, deletes: this.#deletes, suppressions: this.#suppressions, profiles, together: this.#together };
  }
}
