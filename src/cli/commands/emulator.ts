/** `fyno-sync emulator`: run the local Fyno (src/fyno/emulator) until SIGINT/SIGTERM. */
import { Option, type Command } from 'commander';
import { FynoSyncError, messageOf } from '../../errors.js';
import { startEmulator, type EmulatorOptions } from '../../fyno/emulator/index.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { jsonEnvelope, writeLine } from '../output.js';

interface EmulatorFlags {
  port: number;
  host: string;
  state?: string;
  apiKey: string;
  auth: boolean;
  workspace: string;
  latency?: number;
  failRate?: number;
  rps?: number;
  burst?: number;
  propertyDelay?: number;
  faultSeed?: number;
  seedFile?: string;
  /** The old name of --fault-seed: refused with a pointer to both new flags. */
  seed?: string;
  json?: boolean;
}

const DEFAULT_KEY = 'emulator-key';

function num(name: string, check: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new FynoSyncError('config.invalid', `${name} must be ${what}, got '${v}'`, { option: name });
    return n;
  };
}

export function registerEmulator(program: Command, ctx: CommandContext): void {
  program
    .command('emulator')
    .description('Run a local Fyno emulator (prints its base URL as the first line of stdout)')
    .option('--port <n>', 'port to listen on (0 = any free port)', num('--port', (n) => Number.isInteger(n) && n >= 0 && n < 65536, 'a port number'), 8787)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--state <file>', 'persist state to FILE (and FILE.wal); every acknowledged write survives a crash')
    .option('--api-key <key>', 'Bearer key clients must send', DEFAULT_KEY)
    .option('--no-auth', 'accept requests without checking the key')
    .option('--workspace <wsid>', 'the workspace id the emulator answers for', 'FYEMULATOR')
    .option('--latency <ms>', 'added latency per request', num('--latency', (n) => n >= 0, 'a number ≥ 0'))
    .option('--fail-rate <p>', 'share of requests that fail (5xx, hang-ups, timeouts, lost responses)', num('--fail-rate', (n) => n >= 0 && n <= 1, 'a number from 0 to 1'))
    .option('--rps <n>', 'rate limit in requests per second; above it: 429 with Retry-After', num('--rps', (n) => n > 0, 'a number > 0'))
    .option('--rate-limit <n>', 'alias of --rps', num('--rate-limit', (n) => n > 0, 'a number > 0'))
    .option('--burst <n>', 'requests allowed at once under --rps (default: the rps)', num('--burst', (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1'))
    .option('--property-delay <ms>', 'delay before property updates are applied (default 50)', num('--property-delay', (n) => n >= 0, 'a number ≥ 0'))
    .option('--seed-file <file>', 'load a JSON file at start: the body of POST /_emulator/seed (profiles, topics, preferences, events, otps)')
    .option('--fault-seed <n>', 'seed for reproducible fault injection', num('--fault-seed', (n) => Number.isInteger(n), 'a whole number'))
    .addOption(new Option('--seed <value>').hideHelp())
    .option('--json', 'once ready, print one JSON document on one line instead: { status, command, base_url, admin_url, workspace }')
    .action(async (flags: EmulatorFlags & { rateLimit?: number }) => {
      ctx.setExitCode(await runEmulator(ctx, { ...flags, ...(flags.rps === undefined && flags.rateLimit !== undefined ? { rps: flags.rateLimit } : {}) }));
    });
}

export async function runEmulator(ctx: CommandContext, flags: EmulatorFlags): Promise<number> {
  const { io } = ctx;
  if (flags.seed !== undefined) {
    throw new FynoSyncError('config.invalid', `--seed was renamed: use --seed-file FILE to load data (the body of POST /_emulator/seed) or --fault-seed N to seed fault injection`, { option: '--seed' });
  }
  const opts: EmulatorOptions = {
    port: flags.port,
    host: flags.host,
    apiKey: flags.auth ? flags.apiKey : null,
    workspace: flags.workspace,
    ...(flags.state !== undefined ? { stateFile: flags.state } : {}),
    ...(flags.latency !== undefined ? { latencyMs: flags.latency } : {}),
    ...(flags.failRate !== undefined ? { failRate: flags.failRate } : {}),
    ...(flags.rps !== undefined ? { rateLimit: { rps: flags.rps, ...(flags.burst !== undefined ? { burst: flags.burst } : {}) } } : {}),
    ...(flags.propertyDelay !== undefined ? { propertyDelayMs: flags.propertyDelay } : {}),
    ...(flags.faultSeed !== undefined ? { faultSeed: flags.faultSeed } : {}),
    ...(flags.seedFile !== undefined ? { seedFile: flags.seedFile } : {}),
  };
  let em;
  try {
    em = await startEmulator(opts);
  } catch (e) {
    throw new FynoSyncError('config.invalid', `emulator could not start: ${messageOf(e)}`, {}, { cause: e });
  }
  if (flags.json) {
    // One line, so that a reader of the first line gets the whole document.
    writeLine(io.stdout, JSON.stringify(jsonEnvelope('emulator', 'ok', { base_url: em.baseUrl, admin_url: em.adminUrl, workspace: em.workspace })));
  } else {
    writeLine(io.stdout, em.baseUrl);
    writeLine(io.stdout, `export FYNO_BASE_URL=${em.baseUrl}`);
    // The built-in key is not a secret; a key the user chose is never echoed.
    if (flags.auth) writeLine(io.stdout, `export FYNO_API_KEY=${flags.apiKey === DEFAULT_KEY ? DEFAULT_KEY : '<the key given with --api-key>'}`);
    writeLine(io.stdout, `export FYNO_WSID=${em.workspace}`);
  }
  writeLine(io.stderr, `Fyno emulator listening; admin API at ${em.adminUrl}; state ${flags.state ?? 'in memory'}. Ctrl-C to stop.`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    if (io.signal?.aborted) return stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGTERM', stop);
    if (!io.signal) process.once('SIGINT', stop);
  });
  await em.close();
  writeLine(io.stderr, 'Fyno emulator stopped.');
  return EXIT.ok;
}
