/**
 * Progress on stderr (stdout carries only the result): an `ora` spinner on a TTY, plain
 * periodic lines otherwise so CI logs show that a long run is alive without flooding them.
 */
import ora, { type Ora } from 'ora';
import { writeLine, type CliIO } from './output.js';

export interface Progress {
  /** Update the counters; cheap enough to call on every completed request. */
  update(done: number, total: number, extra?: string): void;
  /** Stop the spinner (or print a final line) with this text. */
  stop(finalText?: string): void;
}

export interface ProgressOptions {
  /** Minimum time between two plain lines (default 5 s). */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Suppress all progress (e.g. with `--json`, or `--quiet`). */
  silent?: boolean;
}

export function createProgress(io: CliIO, label: string, o: ProgressOptions = {}): Progress {
  if (o.silent) return { update: () => undefined, stop: () => undefined };
  const now = o.now ?? Date.now;
  const started = now();
  const rate = (done: number): string => {
    const secs = (now() - started) / 1000;
    return secs > 0.5 ? `, ${Math.round(done / secs)}/s` : '';
  };
  const text = (done: number, total: number, extra?: string): string =>
    `${label} ${done}/${total}${rate(done)}${extra ? `, ${extra}` : ''}`;

  if (io.stderrIsTTY && io.stderr instanceof Object && 'isTTY' in io.stderr) {
    const spinner: Ora = ora({ stream: io.stderr as unknown as NodeJS.WritableStream, text: `${label}…`, discardStdin: false }).start();
    return {
      update: (done, total, extra) => void (spinner.text = text(done, total, extra)),
      stop: (finalText) => (finalText ? spinner.succeed(finalText) : spinner.stop()),
    };
  }

  const interval = o.intervalMs ?? 5000;
  let last = started;
  let lastLine = '';
  return {
    update(done, total, extra) {
      const t = now();
      if (t - last < interval && done !== total) return;
      if (done === total && lastLine.startsWith(`${label} ${done}/${total}`)) return;
      last = t;
      lastLine = text(done, total, extra);
      writeLine(io.stderr, lastLine);
    },
    stop(finalText) {
      if (finalText) writeLine(io.stderr, finalText);
    },
  };
}
