/**
 * Bounded work over many items: `concurrency` workers take items in order from one iterator,
 * so what is held at once is bounded by the concurrency, not by the number of items (p-limit
 * over 100,000 items queues 100,000 closures and promises before the first one runs).
 */
export async function forEachLimited<T>(items: Iterable<T> | AsyncIterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  // An async source (a plan read from its file) is asked for one item at a time by each worker.
  const it = Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : undefined;
  const syncIt = it ? undefined : (items as Iterable<T>)[Symbol.iterator]();
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed) {
      const next = syncIt ? syncIt.next() : await it!.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (e) {
        // As Promise.all over p-limit: the first rejection is the result; no new item starts.
        failed = true;
        throw e;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, concurrency); i += 1) workers.push(worker());
  await Promise.all(workers);
}
