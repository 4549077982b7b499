/**
 * Progress on a terminal that reports no width. A pseudo-terminal opened without a size (`script`
 * run from CI or an agent, `docker run -t` for its first moments) says `isTTY` but `columns: 0`;
 * ora divides by the width, takes Infinity lines to clear, and writes erase sequences forever:
 * `apply` on such a terminal never ended (seen with `script -qec "stty cols 0; fyno-sync apply …"`).
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CliIO } from '../../src/cli/output.js';
import { createProgress } from '../../src/cli/progress.js';

/** A TTY-like stream that counts what is written and gives up past `limit` writes (a runaway loop). */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  writes = 0;
  text = '';
  constructor(
    public columns: number,
    public rows: number,
    readonly limit = 5000,
  ) {
    super();
  }
  write(s: string | Uint8Array): boolean {
    this.writes += 1;
    if (this.writes > this.limit) throw new Error(`runaway: over ${this.limit} writes`);
    this.text += String(s);
    return true;
  }
  // As on a tty.WriteStream, the cursor methods write escape sequences.
  cursorTo(x: number): boolean {
    return this.write(`\u001b[${x + 1}G`);
  }
  moveCursor(dx: number, dy: number): boolean {
    return this.write(dy < 0 ? `\u001b[${-dy}A` : '');
  }
  clearLine(): boolean {
    return this.write('\u001b[0K');
  }
}

function ioOn(stderr: FakeTerminal): CliIO {
  return { stdout: { write: () => true }, stderr, env: {}, stdoutIsTTY: false, stderrIsTTY: true, stdinIsTTY: false, cwd: process.cwd() };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress on a terminal', () => {
  // ora animates only where it takes the terminal as interactive: not under CI, not TERM=dumb.
  beforeEach(() => {
    vi.stubEnv('CI', undefined);
    vi.stubEnv('TERM', 'xterm-256color');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('that reports 0 columns ends, with its final line, in a bounded number of writes', async () => {
    const term = new FakeTerminal(0, 0);
    const p = createProgress(ioOn(term), 'Applying');
    p.update(1, 3);
    await tick(200); // a few of the spinner's 80 ms frames
    p.update(3, 3);
    p.stop('Applied 3 operations');
    expect(term.writes).toBeLessThan(100);
    expect(term.text).toContain('Applied 3 operations');
  });

  it('resized to 0 columns while it runs ends all the same', async () => {
    const term = new FakeTerminal(80, 24);
    const p = createProgress(ioOn(term), 'Applying');
    p.update(1, 3);
    await tick(100);
    term.columns = 0;
    term.rows = 0;
    term.emit('resize');
    await tick(200);
    p.update(3, 3);
    p.stop('Applied 3 operations');
    expect(term.writes).toBeLessThan(200);
    expect(term.text).toContain('Applied 3 operations');
  });

  it('with a width still animates a spinner (the frames overwrite the line)', async () => {
    const term = new FakeTerminal(80, 24);
    const p = createProgress(ioOn(term), 'Applying');
    p.update(1, 3);
    await tick(250);
    p.stop('Applied 3 operations');
    // More than one frame drawn, each clearing the last: a spinner, not plain lines.
    expect(term.writes).toBeGreaterThan(3);
    expect(term.text).toContain('\u001b[');
    expect(term.text).toContain('Applied 3 operations');
  });
});
