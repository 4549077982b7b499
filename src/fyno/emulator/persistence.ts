/**
 * Durable emulator state: a snapshot file plus an append-only write-ahead log beside it.
 *
 * - `<stateFile>` — the last snapshot, `{ format: 1, seq, state }`, replaced atomically
 *   (write `<stateFile>.tmp`, fsync, rename, fsync the directory).
 * - `<stateFile>.wal` — one JSON journal entry per line, `{ seq, ...JournalEntry }`.
 *
 * Every state change is appended to the WAL and the server answers only after `sync()` has
 * written and fdatasync'd it (group commit: one fsync covers every entry queued meanwhile), so
 * an acknowledged write survives `kill -9`. On start the snapshot is loaded and WAL entries
 * with a larger `seq` are replayed through the engine with their recorded timestamps. A torn
 * last line (killed mid-write, never acknowledged) is cut off.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync, ftruncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EmulatorEngine, type JournalEntry } from './engine.js';
import { seedStore } from './seed.js';
import { FynoStore, type StoreSnapshot } from './store.js';

interface SnapshotFile {
  format: 1;
  seq: number;
  state: StoreSnapshot;
}

type WalLine = JournalEntry & { seq: number };

/** Replay one journal entry on an engine that journals nothing and schedules nothing. */
function replay(engine: EmulatorEngine, e: JournalEntry): void {
  switch (e.op) {
    case 'api':
      engine.handle(e.req, e.t);
      return;
    case 'apply':
      engine.applyCount(Math.min(e.count, engine.store.pending.length), e.t);
      return;
    case 'reset':
      engine.store.reset();
      return;
    case 'seed':
      try {
        seedStore(engine.store, e.input, e.t, undefined);
      } catch {
        // It failed the same way when it was first run; the partial effect is what we want.
      }
      return;
    default:
      return assertNeverEntry(e);
  }
}

function assertNeverEntry(e: never): never {
  throw new Error(`unknown journal entry ${JSON.stringify(e)}`);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

export class StateFile {
  private seq = 0;
  private buf: string[] = [];
  private flushing: Promise<void> | null = null;
  private sinceSnapshot = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly wal: FileHandle,
    readonly store: FynoStore,
    private readonly snapshotEvery: number,
  ) {}

  get walFile(): string {
    return `${this.file}.wal`;
  }

  /** Load (or create) the state at `file`. Throws when the files exist but cannot be read. */
  static async open(file: string, opts: { snapshotEvery?: number; snapshotIntervalMs?: number } = {}): Promise<StateFile> {
    const walFile = `${file}.wal`;
    let store = new FynoStore();
    let seq = 0;
    if (existsSync(file)) {
      const snap = JSON.parse(readFileSync(file, 'utf8')) as SnapshotFile;
      if (snap.format !== 1) throw new Error(`${file}: unsupported emulator state format ${String(snap.format)}`);
      store = FynoStore.fromJSON(snap.state);
      seq = snap.seq;
    }
    if (existsSync(walFile)) {
      const text = readFileSync(walFile, 'utf8');
      const engine = new EmulatorEngine({ store, propertyDelayMs: 1 });
      engine.close();
      let validBytes = 0;
      let offset = 0;
      for (const line of text.split('\n')) {
        const end = offset + Buffer.byteLength(line) + 1;
        if (end > Buffer.byteLength(text)) break; // no newline: a torn, never-acknowledged write
        let entry: WalLine;
        try {
          entry = JSON.parse(line) as WalLine;
        } catch {
          break;
        }
        if (entry.seq > seq) {
          replay(engine, entry);
          seq = entry.seq;
        }
        validBytes = end;
        offset = end;
      }
      if (validBytes < Buffer.byteLength(text)) {
        const fd = openSync(walFile, 'r+');
        ftruncateSync(fd, validBytes);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    const wal = await open(walFile, 'a');
    const sf = new StateFile(file, wal, store, opts.snapshotEvery ?? 10_000);
    sf.seq = seq;
    const every = opts.snapshotIntervalMs ?? 30_000;
    sf.timer = setInterval(() => {
      if (sf.sinceSnapshot > 0) void sf.snapshot().catch(() => undefined);
    }, every);
    sf.timer.unref();
    return sf;
  }

  /** Queue a journal entry; it is durable once `sync()` resolves. */
  append(e: JournalEntry): void {
    this.seq += 1;
    this.sinceSnapshot += 1;
    this.buf.push(`${JSON.stringify({ seq: this.seq, ...e })}\n`);
  }

  /** Resolve when every entry appended so far is on disk. */
  async sync(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buf.length === 0) return;
    const text = this.buf.join('');
    this.buf = [];
    this.flushing = (async () => {
      await this.wal.write(text);
      await this.wal.datasync();
    })().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
    if (this.sinceSnapshot >= this.snapshotEvery) await this.snapshot();
  }

  /**
   * Write a snapshot of the whole store and empty the WAL. The write itself is synchronous, so
   * no entry can slip in between serialising the state and truncating the log.
   */
  async snapshot(): Promise<void> {
    while (this.flushing) await this.flushing;
    const snap: SnapshotFile = { format: 1, seq: this.seq, state: this.store.toJSON() };
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, JSON.stringify(snap));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    fsyncDir(path.dirname(path.resolve(this.file)));
    // Entries still buffered have seq <= snap.seq: replay skips them, the snapshot has them.
    ftruncateSync(this.wal.fd, 0);
    this.sinceSnapshot = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.sync();
    await this.snapshot();
    await this.wal.close();
  }
}
