/** A worker thread of load-parallel.ts: reads the files it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import type { FileResult } from './load-file.js';
import { loadInput } from './load.js';
import type { WorkerAnswer, WorkerTask } from './load-parallel.js';

const { env } = workerData as { env: Record<string, string | undefined> };

/** Profiles per part sent: few messages, and still little held at once. */
const PART_PROFILES = 1000;

// As JSON text: one string crosses threads far faster than a structured clone of 5,000 profiles,
// and the outcome is plain data (validation refuses .inf and .nan; no key holds undefined).
parentPort!.on('message', (t: WorkerTask) => {
  const send = (json: string, done: boolean) => parentPort!.postMessage({ index: t.index, json, done } satisfies WorkerAnswer);
  let batch: FileResult = { profiles: [], entries: [], issues: [] };
  const flush = () => {
    if (batch.profiles.length === 0 && batch.entries.length === 0) return;
    send(JSON.stringify(batch), false);
    batch = { profiles: [], entries: [], issues: [] };
  };
  const onPart = (part: FileResult) => {
    for (const p of part.profiles) batch.profiles.push(p);
    for (const e of part.entries) batch.entries.push(e);
    if (batch.profiles.length >= PART_PROFILES) flush();
  };
  void loadInput(t.file, t.maxBytes, env, onPart).then((outcome) => {
    // Parts that a restart withdraws need not be sent at all.
    if (!outcome.restart) flush();
    send(JSON.stringify(outcome), true);
  });
});
