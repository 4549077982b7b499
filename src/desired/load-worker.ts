/** A worker thread of load-parallel.ts: reads the files it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadInput } from './load.js';
import type { WorkerAnswer, WorkerTask } from './load-parallel.js';

const { env } = workerData as { env: Record<string, string | undefined> };

parentPort!.on('message', (t: WorkerTask) => {
  void loadInput(t.file, t.maxBytes, env).then((outcome) => parentPort!.postMessage({ index: t.index, outcome } satisfies WorkerAnswer));
});
