/**
 * Property batching across profiles: `POST /profiles/properties/batch` carries many profiles'
 * actions in one request (fyno-user-properties-api-openapi.yml, `user_property_bulk`), so the
 * property operations of profiles that reach their property step at about the same time share
 * requests (PRODUCT.md, "Applying": "Use the batch endpoint where it saves requests").
 *
 * A batch is sent when it holds `maxItems` profiles, on `drain()` (no profile can add more),
 * or — when `lingerMs` is finite — once its first entry has waited that long. Entries whose requests are idempotent
 * and ones holding `$append` are kept in separate batches, so that the client may retry the
 * former blindly and only the latter need settling by re-reading.
 */
import type { KeyedOp } from './groups.js';
import { itemsIdempotent, propertyItems } from './groups.js';

export interface BatcherOptions {
  maxItems: number;
  lingerMs: number;
  /** Sends one batch (settling, retrying and recording outcomes itself); never rejects. */
  send: (ops: KeyedOp[]) => Promise<void>;
  /** Records operations left unsent because the run was interrupted. */
  skip: (ops: KeyedOp[]) => void;
  isAborted: () => boolean;
}

interface Entry {
  ops: KeyedOp[];
  resolve: () => void;
}

class Queue {
  entries: Entry[] = [];
  timer: NodeJS.Timeout | undefined;
}

export class PropertyBatcher {
  private readonly queues = { idempotent: new Queue(), settled: new Queue() };
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;

  constructor(private readonly o: BatcherOptions) {}

  /** Queue one profile's property operations; resolves once their batch has been sent. */
  add(ops: KeyedOp[]): Promise<void> {
    const q = itemsIdempotent(propertyItems(ops)) ? this.queues.idempotent : this.queues.settled;
    return new Promise<void>((resolve) => {
      q.entries.push({ ops, resolve });
      if (this.draining || q.entries.length >= this.o.maxItems) this.flush(q);
      else if (Number.isFinite(this.o.lingerMs)) q.timer ??= setTimeout(() => this.flush(q), this.o.lingerMs);
    });
  }

  /** Send everything queued now (and anything added later at once); resolves when all batches are done. */
  async drain(): Promise<void> {
    this.draining = true;
    this.flush(this.queues.idempotent);
    this.flush(this.queues.settled);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private flush(q: Queue): void {
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    const entries = q.entries.splice(0, q.entries.length);
    if (entries.length === 0) return;
    const ops = entries.flatMap((e) => e.ops);
    const p = (async () => {
      try {
        if (this.o.isAborted()) this.o.skip(ops);
        else await this.o.send(ops);
      } finally {
        for (const e of entries) e.resolve();
      }
    })();
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
