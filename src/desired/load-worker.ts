/** A worker thread of load-parallel.ts: reads the files it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import type { FileResult } from './load-file.js';
import { loadInput } from './load.js';
import type { WorkerAnswer, WorkerData, WorkerTask } from './load-parallel.js';
import { prefiltered } from './prefilter.js';

const { env, prefilter } = workerData as WorkerData;

/** Profiles per part sent: few messages, and still little held at once. */
const PART_PROFILES = 1000;

// As JSON text: one string crosses threads far faster than a structured clone of 5,000 profiles,
// and the outcome is plain data (validation refuses .inf and .nan; no key holds undefined).
parentPort!.on('message', (t: WorkerTask) => {
  const send = (json: string, done: boolean) => parentPort!.postMessage({ index: t.index, json, done } satisfies WorkerAnswer);
  let batch: FileResult & { letGo: string[] } = { profiles: [], entries: [], issues: [], letGo: [] };
  let built = 0;
  const flush = () => {
    if (batch.profiles.length === 0 && batch.entries.length === 0 && batch.letGo.length === 0) return;
    send(JSON.stringify(batch), false);
    batch = { profiles: [], entries: [], issues: [], letGo: [] };
    built = 0;
  };
  const onPart = (part: FileResult) => {
    built += part.profiles.length;
    for (const p of prefiltered(part, prefilter, batch.letGo).profiles) batch.profiles.push(p);
    for (const e of part.entries) batch.entries.push(e);
    if (built >= PART_PROFILES) flush();
  };
  void loadInput(t.file, t.maxBytes, env, onPart).then((outcome) => {
    // Parts that a restart withdraws need not be sent at all.
    if (!outcome.restart) flush();
    const letGo: string[] = [];
    if ('profiles' in outcome) prefiltered(outcome, prefilter, letGo);
    send(JSON.stringify(letGo.length > 0 ? { ...outcome, letGo } : outcome), true);
  });
});
