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

  const interval = o.intervalMs ?? 5000;
  if (io.stderrIsTTY && io.stderr instanceof Object && 'isTTY' in io.stderr && hasWidth(io.stderr)) {
    const stream = io.stderr as unknown as NodeJS.WriteStream;
    const spinner: Ora = ora({ stream, text: `${label}…`, discardStdin: false }).start();
    // ora divides by the width (9.4, #computeLineCountFrom): at 0 columns it has Infinity lines
    // to clear and writes erase sequences forever. A terminal resized to no width goes on with
    // plain lines; the spinner's last frame was drawn at a width, so stopping it ends.
    let plain: Progress | undefined;
    const onResize = (): void => {
      if (plain !== undefined || hasWidth(stream)) return;
      spinner.stop();
      plain = plainProgress(io, label, text, now, interval);
    };
    stream.on?.('resize', onResize);
    return {
      update: (done, total, extra) => (plain ? plain.update(done, total, extra) : void (spinner.text = text(done, total, extra))),
      stop: (finalText) => {
        stream.off?.('resize', onResize);
        if (plain) plain.stop(finalText);
        else if (finalText) spinner.succeed(finalText);
        else spinner.stop();
      },
    };
  }
  return plainProgress(io, label, text, now, interval);
}

/**
 * Whether a terminal stream has a width to draw a spinner in: a pseudo-terminal opened without a
 * size (`script` run from CI or an agent, `docker run -t` at first) says `isTTY` with 0 columns.
 * A stream that does not say (no `columns`) gets ora's default of 80.
 */
function hasWidth(stream: object): boolean {
  const columns = (stream as { columns?: unknown }).columns;
  return typeof columns !== 'number' || columns > 0;
}

/** A line every `interval` ms at most, and the last count once, for logs and width-less terminals. */
function plainProgress(io: CliIO, label: string, text: (done: number, total: number, extra?: string) => string, now: () => number, interval: number): Progress {
  let last = now();
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
