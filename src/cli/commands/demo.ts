/**
 * `fyno-sync demo [PATH]`: the whole tool in one command, against the embedded emulator.
 * Starts an in-process emulator (seeded with the example's live state when the example ships
 * `emulator-seed.json`), then runs exactly what a user would type: validate → plan → apply →
 * plan again, which must show no changes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { FynoSyncError } from '../../errors.js';
import { startEmulator } from '../../fyno/emulator/index.js';
import { EXIT } from '../exit-codes.js';
import { main, type CommandContext } from '../main.js';
import { writeEnvelope, writeLine, type CliIO } from '../output.js';

const DEMO_KEY = 'demo-key';
const DEMO_WORKSPACE = 'FYDEMO0001';
/** The example the package ships (package.json `files`), so `npx fyno-sync demo` works wherever it is installed. */
export const DEMO_EXAMPLE = fileURLToPath(new URL('../../../examples/basic', import.meta.url));

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('Run validate → plan → apply → plan on an example against an embedded Fyno emulator')
    .argument('[path]', "desired-state directory (default: the package's examples/basic)")
    .option('--latency <ms>', 'emulator latency per request', (v) => Number(v), 5)
    .option('--json', "print one JSON document at the end instead of each step's output: { status, command, base_url, steps }")
    .action(async (dir: string | undefined, flags: DemoFlags) => {
      ctx.setExitCode(await runDemo(ctx.io, dir ?? (path.relative(ctx.io.cwd, DEMO_EXAMPLE) || '.'), flags));
    });
}

async function readSeed(dir: string): Promise<unknown | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'emulator-seed.json'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FynoSyncError('desired.io', `cannot read ${path.join(dir, 'emulator-seed.json')}: ${(e as Error).message}`);
  }
}

interface DemoFlags {
  latency: number;
  json?: boolean;
}

export async function runDemo(io: CliIO, dir: string, flags: DemoFlags): Promise<number> {
  const json = Boolean(flags.json);
  // With --json the steps' own output is not shown: stdout carries one document.
  const out: CliIO['stdout'] = json ? { write: () => true } : io.stdout;
  const abs = path.resolve(io.cwd, dir);
  const seed = await readSeed(abs);
  let stateDir: string | undefined;
  const emulator = await startEmulator({ apiKey: DEMO_KEY, workspace: DEMO_WORKSPACE, latencyMs: flags.latency, propertyDelayMs: 20 });
  try {
    if (seed !== undefined) {
      const res = await fetch(`${emulator.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seed) });
      if (!res.ok) throw new FynoSyncError('internal', `the demo emulator refused the seed: ${res.status} ${await res.text()}`);
    }
    const env = { ...io.env, FYNO_BASE_URL: emulator.baseUrl, FYNO_API_KEY: DEMO_KEY, FYNO_WSID: DEMO_WORKSPACE, FYNO_ENV: 'live' };
    const sub: CliIO = { ...io, env, stdinIsTTY: false, confirm: undefined, ...(json ? { stdout: out, stderr: out } : {}) };
    writeLine(out, `Fyno emulator running at ${emulator.baseUrl} (workspace ${DEMO_WORKSPACE})`);
    // The apply journal of a demo is thrown away with the emulator.
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'fyno-sync-demo-'));
    const steps: { args: string[]; expect: number[]; hidden?: string[] }[] = [
      { args: ['validate', dir], expect: [EXIT.ok] },
      { args: ['plan', dir, '--detailed-exitcode'], expect: [EXIT.ok, EXIT.changes] },
      { args: ['apply', dir, '--yes', '--allow-delete'], hidden: ['--state-dir', stateDir], expect: [EXIT.ok] },
      { args: ['plan', dir, '--detailed-exitcode'], expect: [EXIT.ok] },
    ];
    const ran: { command: string; exit_code: number }[] = [];
    const result = (status: 'ok' | 'error', error?: { code: string; message: string }) => {
      if (json) writeEnvelope(io.stdout, 'demo', status, { base_url: emulator.baseUrl, workspace: DEMO_WORKSPACE, steps: ran }, error);
    };
    for (const step of steps) {
      writeLine(out);
      const command = `fyno-sync ${step.args.join(' ')}`;
      writeLine(out, `$ ${command}`);
      const code = await main([...step.args, ...(step.hidden ?? [])], sub);
      ran.push({ command, exit_code: code });
      if (!step.expect.includes(code)) {
        const message = `\`${command}\` exited ${code}; stopping`;
        if (json) result('error', { code: 'demo.failed', message });
        else writeLine(io.stderr, `demo: ${message}`);
        return EXIT.error;
      }
      if (io.signal?.aborted) return EXIT.interrupted;
    }
    writeLine(out);
    writeLine(out, 'Done: the second plan shows no changes — live state matches the files.');
    result('ok');
    return EXIT.ok;
  } finally {
    await emulator.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }
}
