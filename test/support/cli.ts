/** Runs the whole CLI in-process (`main(argv, io)`) with captured output and no TTY. */
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/output.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Given: stdin counts as a TTY and prompts are answered by it. */
  confirm?: CliIO['confirm'];
  signal?: AbortSignal;
}

export async function runMain(argv: string[], o: RunOptions): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => void (stdout += s) },
    stderr: { write: (s: string) => void (stderr += s) },
    env: o.env ?? {},
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: Boolean(o.confirm),
    cwd: o.cwd,
    ...(o.confirm ? { confirm: o.confirm } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
