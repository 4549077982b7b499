/** Options and steps shared by the commands that talk to Fyno (plan, apply, pull). */
import { StringDecoder } from 'node:string_decoder';
import v8 from 'node:v8';
import { Option, type Command } from 'commander';
import { FynoSyncError } from '../../errors.js';
import { formatIssue, loadDesired } from '../../desired/load.js';
import type { DesiredState } from '../../desired/types.js';
import { HttpFynoClient, type RequestInfo } from '../../fyno/http-client.js';
import { resolveTarget } from '../../fyno/target.js';
import { parseShard, type Shard } from '../../plan/shard.js';
import type { PlanTarget } from '../../plan/types.js';
import { EXIT } from '../exit-codes.js';
import { writeEnvelope, writeLine, type CliIO } from '../output.js';

export interface TargetOpts {
  workspace?: string;
  env?: string;
  baseUrl?: string;
}

export interface RateOpts {
  concurrency: number;
  rps?: number;
}

export function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new FynoSyncError('config.invalid', `${name} must be a positive whole number, got '${v}'`, { option: name });
    return n;
  };
}

export function nonNegativeInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new FynoSyncError('config.invalid', `${name} must be a whole number ≥ 0, got '${v}'`, { option: name });
    return n;
  };
}

function positiveNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new FynoSyncError('config.invalid', `${name} must be a number > 0, got '${v}'`, { option: name });
    return n;
  };
}

/**
 * Options every command takes (README "Common options"): `--no-color`. Added to each command by
 * `registerCommands`; a command that already declares one keeps its own.
 */
export function addCommonOptions(cmd: Command): Command {
  if (!cmd.options.some((o) => o.long === '--no-color')) cmd.option('--no-color', 'no colours in the output (also: NO_COLOR set, or not a terminal)');
  return cmd;
}

/** `--workspace`, `--env`, `--base-url`: override FYNO_WSID, FYNO_ENV, FYNO_BASE_URL. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--workspace <WSID>', 'Fyno workspace ID (default: $FYNO_WSID)')
    .addOption(new Option('--env <version>', "'live' or 'test' (default: $FYNO_ENV, else live)"))
    .option('--base-url <url>', 'API base URL (default: $FYNO_BASE_URL, else https://api.fyno.io/v1)');
}

/** `--concurrency`, `--rps`. */
export function addRateOptions(cmd: Command): Command {
  return cmd
    .option('--concurrency <n>', 'requests in flight at once', positiveInt('--concurrency'), 8)
    .option('--rps <n>', 'global request rate limit, requests per second (429 answers lower the rate; it climbs back slowly)', positiveNumber('--rps'));
}

/** `--shard K/N` (plan, apply): this runner's share of the profiles, for a CI matrix of N jobs. */
export function addShardOption(cmd: Command): Command {
  return cmd.option(
    '--shard <K/N>',
    'only the profiles of shard K of N (by a hash of distinct_id; merge sources go with their target); takes 1/N of --rps',
    parseShard,
  );
}

/** Each of N shards runs at 1/N of the global `--rps`, so that N runners together keep to it. */
export function shardRate<T extends { rps?: number; shard?: Shard }>(flags: T): T {
  if (flags.rps === undefined || !flags.shard) return flags;
  return { ...flags, rps: flags.rps / flags.shard.count };
}

export function toPlanTarget(t: { baseUrl: string; workspace: string; env: 'live' | 'test' }): PlanTarget {
  return { base_url: t.baseUrl, workspace: t.workspace, env: t.env };
}

/** Where the flags and the environment point, with the key; throws as `connect` does (no key, a bad URL). */
export function targetFor(io: CliIO, opts: TargetOpts): ReturnType<typeof resolveTarget> {
  return resolveTarget(io.env, {
    ...(opts.workspace !== undefined ? { workspace: opts.workspace } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    ...(opts.baseUrl !== undefined ? { baseUrl: opts.baseUrl } : {}),
  });
}

/** Resolve target + key and build the HTTP client; throws before any request on bad settings. */
export function connect(
  io: CliIO,
  opts: TargetOpts & Partial<RateOpts> & { onRequest?: (info: RequestInfo) => void },
): { api: HttpFynoClient; target: PlanTarget } {
  const { target, apiKey } = targetFor(io, opts);
  const api = new HttpFynoClient({
    target,
    apiKey,
    ...(opts.rps !== undefined ? { rps: opts.rps } : {}),
    ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
  });
  return { api, target: toPlanTarget(target) };
}

/** Old-generation growth after each full GC, in percent (V8's own default is up to 300). */
export const HEAP_GROWING_PERCENT = 25;

/**
 * Keeps the heap close to what is live. Reading 100,000 profiles allocates hundreds of MB of
 * short-lived request objects; V8 then lets the old generation grow to about 4× the live data
 * before collecting it. On the 100k import set (1.05M operations, ~400 MB live at the end of
 * reading) `plan --out` peaked at 1,893 MB RSS without this and 800 MB with it, in the same wall
 * time (640 s vs 644 s, run side by side; the reads wait on the network, not on the collector).
 * Process-wide and read at every full GC, so it takes effect when set at the start of a command
 * (bench/plan-memory.ts measures it).
 */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Writes text produced in pieces (a big plan's output) one piece at a time, waiting for `drain`
 * when the stream asks for it, so the whole text is never held at once.
 */
export async function writeChunks(out: CliIO['stdout'], chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<void> {
  const stream = out as { write(s: string): unknown; once?: (event: 'drain', f: () => void) => unknown };
  // Bytes copied from a scratch file may end inside a character: decoded across pieces.
  const utf8 = new StringDecoder('utf8');
  for await (const piece of chunks) {
    const chunk = typeof piece === 'string' ? utf8.end() + piece : utf8.write(piece);
    if (chunk === '') continue;
    if (stream.write(chunk) === false && typeof stream.once === 'function') await new Promise<void>((resolve) => stream.once!('drain', resolve));
  }
  const rest = utf8.end();
  if (rest !== '') stream.write(rest);
}

/**
 * Load and validate desired state; on any issue print every one of them (one line each) on
 * stderr and fail with `desired.invalid` — before any request is sent.
 */
export async function loadDesiredOrFail(io: CliIO, paths: string[], o: { json: boolean }): Promise<DesiredState> {
  const { state, issues } = await loadDesired(paths, { env: io.env, cwd: io.cwd });
  if (issues.length === 0) return state;
  if (!o.json) for (const issue of issues) writeLine(io.stderr, formatIssue(issue));
  throw new FynoSyncError(
    'desired.invalid',
    `${issues.length} error${issues.length === 1 ? '' : 's'} in the desired state; nothing was sent to Fyno`,
    { issues },
  );
}

/**
 * Ctrl-C while live state is read: whatever the aborted reads failed with, the outcome is
 * "interrupted" (exit 130), not a read error; nothing was planned or written.
 */
export function reportInterruptedRead(io: CliIO, json: boolean, what: string, command: string): number {
  const message = `interrupted while reading live state; ${what}`;
  if (json) writeEnvelope(io.stdout, command, 'error', {}, { code: 'apply.interrupted', message });
  else writeLine(io.stderr, `Interrupted: ${message}.`);
  return EXIT.interrupted;
}
