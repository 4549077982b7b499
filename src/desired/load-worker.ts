/** A worker thread of load-parallel.ts: reads the files it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadInput } from './load.js';
import type { WorkerAnswer, WorkerTask } from './load-parallel.js';

const { env } = workerData as { env: Record<string, string | undefined> };

// As JSON text: one string crosses threads far faster than a structured clone of 5,000 profiles,
// and the outcome is plain data (validation refuses .inf and .nan; no key holds undefined).
parentPort!.on('message', (t: WorkerTask) => {
  const send = (json: string, done: boolean) => parentPort!.postMessage({ index: t.index, json, done } satisfies WorkerAnswer);
  void loadInput(t.file, t.maxBytes, env, (part) => send(JSON.stringify(part), false)).then((outcome) => send(JSON.stringify(outcome), true));
});
