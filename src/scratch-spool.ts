/**
 * Text written ahead to a scratch file while a plan is still being read, and read back from the
 * start once it is complete (issue #17): the plan file's operation lines (kept-plan.ts
 * `OperationSpool`) and the `plan` command's text output, so that neither the operations of a
 * 100,000-profile plan nor their text wait on the heap. The file loses its name once it is open
 * (where the system allows) and is read back through its handle: a run killed while reading
 * (kill -9, an OOM kill, a CI timeout) leaves nothing behind.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';

/** Most text a spool lets wait for its disk (UTF-16 code units, ~2 bytes each). */
export const MAX_QUEUED = 8 << 20;
/** Text gathered before it is queued for the disk. */
const FLUSH_AT = 1 << 16;

export class ScratchSpool {
  readonly file: string;
  #buffer = '';
  readonly #fh: Promise<FileHandle>;
  /** Text waiting for the disk, oldest first, and its length in all. */
  #queue: string[] = [];
  #queued = 0;
  #draining: Promise<void> | undefined;
  /** Resolved when the queue is back under half its bound (`ready`). */
  #caughtUp: { promise: Promise<void>; resolve: () => void } | undefined;
  #error: unknown;

  /** A scratch file named `file` (one left there by a killed run is overwritten). */
  constructor(file: string) {
    this.file = file;
    this.#fh = open(file, 'w+', 0o600).then(async (fh) => {
      try {
        await unlink(file);
      } catch (e) {
        if (process.platform !== 'win32') {
          await fh.close();
          throw e;
        }
        // Windows keeps the name while the file is open: removed at discard.
      }
      return fh;
    });
    this.#fh.catch((e: unknown) => this.#fail(e));
  }

  /** Settles once the scratch file is open; rejects with why it cannot be. */
  async opened(): Promise<void> {
    await this.#fh;
  }

  /** Why the spool stopped writing, once it has (its text is then gone). */
  get error(): unknown {
    return this.#error;
  }

  append(text: string): void {
    if (this.#error !== undefined) return;
    this.#buffer += text;
    if (this.#buffer.length >= FLUSH_AT) this.#flush();
  }

  /**
   * Undefined while the disk keeps up, else a promise that settles once it has caught up: a
   * producer that waits on it (the reads of live state, `readLive`'s `pace`) never lets the text
   * outgrow `MAX_QUEUED`.
   */
  ready(): Promise<void> | undefined {
    if (this.#queued < MAX_QUEUED / 2 || this.#error !== undefined) return undefined;
    if (!this.#caughtUp) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#caughtUp = { promise, resolve };
    }
    return this.#caughtUp.promise;
  }

  /**
   * Queues the buffer for the disk. A disk slower than the producer that does not wait on `ready`
   * would otherwise queue all of the text: past `MAX_QUEUED` the spool gives up and drops it
   * (`error` says so; the caller writes from what it holds, or fails).
   */
  #flush(): void {
    const text = this.#buffer;
    this.#buffer = '';
    if (text === '' || this.#error !== undefined) return;
    if (this.#queued + text.length > MAX_QUEUED) {
      this.#fail(new Error('the scratch file falls behind'));
      return;
    }
    this.#queue.push(text);
    this.#queued += text.length;
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      const fh = await this.#fh;
      while (this.#queue.length > 0 && this.#error === undefined) {
        const text = this.#queue[0]!;
        await fh.write(text);
        if (this.#error !== undefined) break; // #fail emptied the queue meanwhile
        this.#queue.shift();
        this.#queued -= text.length;
        if (this.#queued < MAX_QUEUED / 2) this.#release();
      }
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#draining = undefined;
    }
  }

  #release(): void {
    const waiting = this.#caughtUp;
    this.#caughtUp = undefined;
    waiting?.resolve();
  }

  #fail(e: unknown): void {
    this.#error ??= e;
    this.#buffer = '';
    this.#queue = [];
    this.#queued = 0;
    this.#release();
  }

  /** Everything appended is on disk; false when the scratch file could not be written. */
  async close(): Promise<boolean> {
    this.#flush();
    while (this.#draining !== undefined) await this.#draining;
    return this.#error === undefined;
  }

  /** The text written, from the start, as bytes (after `close` returned true); may be read again. */
  async *read(): AsyncGenerator<Buffer> {
    yield* (await this.#fh).createReadStream({ start: 0, autoClose: false }) as AsyncIterable<Buffer>;
  }

  /** Closes the scratch file, which has no name: it is gone with its handle. */
  async discard(): Promise<void> {
    await this.close();
    await this.#fh.then((fh) => fh.close()).catch(() => undefined);
    if (process.platform === 'win32') await unlink(this.file).catch(() => undefined);
  }
}
