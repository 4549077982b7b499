#!/usr/bin/env node
import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline/promises';
import { main } from './main.js';
import { guardClosedStream, ignoreClosedStream } from './output.js';

const controller = new AbortController();
// Every in-flight request listens to it; with high concurrency that is many listeners by design.
setMaxListeners(0, controller.signal);
let interrupts = 0;
const interrupt = (): void => {
  interrupts += 1;
  // First Ctrl-C: stop scheduling, let in-flight requests finish (commands watch the signal).
  // Second Ctrl-C: leave now.
  if (interrupts > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', interrupt);
// A cancelled CI job or a stopped pod sends SIGTERM: the same graceful stop (journal flushed,
// lock released), so the run can be resumed where a lock from another host could not be judged.
process.on('SIGTERM', interrupt);

const code = await main(process.argv.slice(2), {
  // `| head` closes stdout early: the command then ends quietly (output.ts).
  stdout: guardClosedStream(process.stdout),
  stderr: ignoreClosedStream(process.stderr),
  env: process.env,
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  stdinIsTTY: Boolean(process.stdin.isTTY),
  cwd: process.cwd(),
  signal: controller.signal,
  confirm: process.stdin.isTTY
    ? async (question: string) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          const answer = await rl.question(`${question} [y/N] `);
          return /^y(es)?$/i.test(answer.trim());
        } finally {
          rl.close();
        }
      }
    : undefined,
});
process.exitCode = code;
