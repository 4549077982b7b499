import { styleText } from 'node:util';

/** Where the CLI writes and what it knows of its environment; tests pass their own. */
export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
  /** stdout is a terminal. */
  stdoutIsTTY: boolean;
  /** stderr is a terminal (spinners and progress go there). */
  stderrIsTTY: boolean;
  /** stdin is a terminal (prompts are possible). */
  stdinIsTTY: boolean;
  cwd: string;
  /** Ask a yes/no question on a TTY. Absent when no prompt is possible. */
  confirm?: (question: string) => Promise<boolean>;
  /** Raised on SIGINT by bin.ts; commands stop scheduling work when it aborts. */
  signal?: AbortSignal;
}

type StyleName = 'red' | 'green' | 'yellow' | 'cyan' | 'bold' | 'dim' | 'magenta';

/** Colour decided once per stream and handed to renderers; renderers return strings. */
export interface Style {
  readonly enabled: boolean;
  (name: StyleName, text: string): string;
}

export function createStyle(enabled: boolean): Style {
  const fn = ((name: StyleName, text: string) => (enabled ? styleText(name, text) : text)) as Style;
  Object.defineProperty(fn, 'enabled', { value: enabled });
  return fn;
}

/**
 * Colour is off with NO_COLOR, --no-color, or a stream that is not a TTY; FORCE_COLOR forces it
 * (../shared/PRODUCT.md, "Commands").
 */
export function colourFor(isTTY: boolean, env: CliIO['env'], noColorFlag: boolean): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTTY;
}

export function writeLine(stream: { write(s: string): unknown }, line = ''): void {
  stream.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** What `guardClosedStream` returns: a stream for `CliIO` that also reports whether its reader left. */
export interface GuardedStream {
  write(s: string): boolean;
  once(event: 'drain', f: () => void): unknown;
  readonly closed: boolean;
}

/**
 * A stdout or stderr whose reader may go away (`fyno-sync plan --json | head -c 10`): EPIPE and
 * writes after it are swallowed, so the command ends quietly with its own exit code instead of an
 * unhandled `write EPIPE` and a stack trace. Once closed, writes are dropped and report no
 * back-pressure, and anyone waiting for `drain` is released, so `writeChunks` never hangs.
 */
export function guardClosedStream(stream: NodeJS.WriteStream): GuardedStream {
  let closed = false;
  const waiting = new Set<() => void>();
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (!isClosedError(e)) throw e;
    closed = true;
    for (const f of waiting) f();
    waiting.clear();
  });
  return {
    write: (s) => (closed ? true : stream.write(s)),
    once: (_event, f) => {
      if (closed) return void f();
      const release = () => {
        waiting.delete(release);
        f();
      };
      waiting.add(release);
      stream.once('drain', release);
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * stderr as it is (ora needs the real TTY stream for a spinner), except that a reader gone away
 * (`2>&1 | head`) is not an unhandled error: what is still written is dropped.
 */
export function ignoreClosedStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (!isClosedError(e)) throw e;
  });
  return stream;
}

function isClosedError(e: NodeJS.ErrnoException): boolean {
  return e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED';
}

/** The `status` of every `--json` document (docs/json.md). */
export type JsonStatus = 'ok' | 'changes' | 'error';

/** `error` of a `--json` document: a stable code, one line of text, the issues when there are some. */
export interface JsonError {
  code: string;
  message: string;
  issues?: readonly unknown[];
  [detail: string]: unknown;
}

/**
 * The one `--json` envelope of every command (docs/json.md, schemas/cli-output.schema.json):
 * `status` first, then `command`, then the command's own snake_case keys, then `error` when the
 * status is `error`. Commands build their document with this and nothing else.
 */
export function jsonEnvelope(command: string | undefined, status: JsonStatus, body: Record<string, unknown> = {}, error?: JsonError): Record<string, unknown> {
  return { status, ...(command ? { command } : {}), ...body, ...(error ? { error } : {}) };
}

export function writeEnvelope(stream: { write(s: string): unknown }, command: string | undefined, status: JsonStatus, body: Record<string, unknown> = {}, error?: JsonError): void {
  stream.write(`${JSON.stringify(jsonEnvelope(command, status, body, error), null, 2)}\n`);
}

/**
 * `jsonEnvelope` around a JSON object that is written in pieces (a big plan): the envelope's
 * keys go in after the opening brace, `error` before the closing one. `chunks` must be one JSON
 * object, pretty-printed with two spaces, ending in "}\n" (what `renderJsonChunks` yields); pieces
 * copied as bytes (a plan's spooled operations) pass through as they are.
 */
export async function* envelopeChunks(
  command: string,
  status: JsonStatus,
  chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
  error?: JsonError,
): AsyncGenerator<string | Buffer> {
  let first = true;
  let held: string | Buffer | undefined;
  for await (const chunk of chunks) {
    if (held !== undefined) yield held;
    held = first ? String(chunk).replace(/^\{\n/, `{\n  "status": ${JSON.stringify(status)},\n  "command": ${JSON.stringify(command)},\n`) : chunk;
    first = false;
  }
  if (held === undefined) return;
  if (!error) {
    yield held;
    return;
  }
  const errorText = `,\n  "error": ${JSON.stringify(error, null, 2).replace(/\n/g, '\n  ')}\n}\n`;
  if (typeof held === 'string') yield held.replace(/\n\}\n$/, errorText);
  else if (held.subarray(-3).toString() === '\n}\n') yield Buffer.concat([held.subarray(0, -3), Buffer.from(errorText)]);
  else yield held;
}

/** Error details in the envelope's spelling: snake_case keys, and an HTTP status as `http_status` (`status` is the envelope's). */
export function errorDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (v === undefined) continue;
    out[k === 'status' ? 'http_status' : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  }
  return out;
}
