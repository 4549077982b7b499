/**
 * The emulator's HTTP front end: a node:http server over EmulatorEngine.
 *
 * `/v1/…` is Fyno's API (fyno-notification-events-openapi.yml, servers[0] is
 * `https://api.fyno.io/v1`); `/_emulator/…` is the admin API (admin.ts). A request is taken
 * through: latency → rate limit (429 + Retry-After) → auth (401) → body (400 on a non-JSON
 * content type or bad JSON) →
 * injected fault → engine → WAL fsync → answer. Nothing a client sends can crash the server.
 */
import { messageOf } from '../../errors.js';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { fail, isObject, type ApiRequest, type Reply } from './api-common.js';
import { handleAdmin } from './admin.js';
import { EmulatorEngine } from './engine.js';
import { Faults, type FaultKind, type RateLimit } from './faults.js';
import { StateFile } from './persistence.js';
import type { SeedInput } from './seed.js';
import type { FynoStore } from './store.js';

export interface Exchange {
  method: string;
  /** Below `/v1`, with the query string: `/FY1/live/subscriptions/preference?distinct_id=a`. */
  path: string;
  query: Record<string, string>;
  /** Request headers; `authorization` is masked. */
  headers: Record<string, string | string[] | undefined>;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Persist state here (snapshot + `<file>.wal`); in memory only when absent. */
  stateFile?: string;
  /** Bearer key required on /v1; `null` disables auth. Default `emulator-key`. */
  apiKey?: string | null;
  /** The one known workspace id; others get 401 `Invalid API details`. Default `FYEMULATOR`. */
  workspace?: string;
  latencyMs?: number;
  failRate?: number;
  failKinds?: FaultKind[];
  rateLimit?: RateLimit | null;
  /** How long a `timeout` fault holds the connection before dropping it; 0 (default) = forever. */
  timeoutHoldMs?: number;
  /** Delay before accepted property requests are applied. Default 50 ms; 0 = before answering. */
  propertyDelayMs?: number;
  /** Seed of the fault PRNG, for reproducible runs (CLI `--fault-seed`). */
  faultSeed?: number;
  /**
   * A JSON file with the body of `POST /_emulator/seed` (SeedInput: profiles, topics,
   * preferences, events, otps), loaded once at start, after any `stateFile` (CLI `--seed-file`).
   */
  seedFile?: string;
  now?: () => Date;
  /** Called after every answered /v1 request (tests validate these against the spec). */
  onExchange?: (ex: Exchange) => void;
}

export interface RunningEmulator {
  /** `http://HOST:PORT/v1`: the value of FYNO_BASE_URL. */
  baseUrl: string;
  /** `http://HOST:PORT/_emulator`. */
  adminUrl: string;
  port: number;
  apiKey: string | null;
  workspace: string;
  store: FynoStore;
  engine: EmulatorEngine;
  faults: Faults;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A request body must be JSON: every operation's requestBody in the spec is `application/json`
 * only. A non-empty body of another declared type (curl's default form encoding, fetch's
 * `text/plain` for a string) → 400 in Fyno's error shape; 400 rather than 415 because 400 is the
 * error every body-taking operation declares (README, "Bodies"). No content type at all is
 * tolerated and read as JSON.
 */
export function checkContentType(contentType: string | undefined, text: string): Reply | null {
  if (text.trim() === '' || contentType === undefined || contentType.trim() === '') return null;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[^/]+\+json$/.test(type)) return null;
  return fail(400, `Unsupported Content-Type '${type}': the request body must be application/json`);
}

/** Empty body → undefined; otherwise JSON or a 400 in Fyno's error shape. */
export function parseJsonBody(text: string): { body: unknown } | { error: Reply } {
  if (text.trim() === '') return { body: undefined };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: fail(400, `Malformed JSON in request body: ${e instanceof Error ? e.message : 'parse error'}`) };
  }
}

/** Seed from a file; an Error naming the file when it cannot be read, is not an object or does not seed. */
async function seedFromFile(engine: EmulatorEngine, file: string): Promise<void> {
  const failed = (what: string, e: unknown): Error => new Error(`seed file ${file}: ${what}${messageOf(e)}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw failed('', e);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw failed('not JSON: ', e);
  }
  if (!isObject(data)) throw new Error(`seed file ${file}: must hold a JSON object (the body of POST /_emulator/seed)`);
  try {
    engine.seed(data as SeedInput);
  } catch (e) {
    throw failed('', e);
  }
}

function maskHeaders(h: IncomingMessage['headers']): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = { ...h };
  if (out.authorization !== undefined) out.authorization = 'Bearer ***';
  return out;
}

function authorized(req: IncomingMessage, key: string | null): boolean {
  if (key === null) return true;
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m !== null && m[1]!.trim() === key;
}

/** Start the emulator; resolves once it listens. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const apiKey = opts.apiKey === undefined ? 'emulator-key' : opts.apiKey;
  const workspace = opts.workspace ?? 'FYEMULATOR';
  const stateFile = opts.stateFile !== undefined ? await StateFile.open(opts.stateFile) : undefined;
  const engine = new EmulatorEngine({
    ...(stateFile ? { store: stateFile.store } : {}),
    workspace,
    propertyDelayMs: opts.propertyDelayMs ?? 50,
    ...(opts.now ? { now: opts.now } : {}),
    ...(stateFile ? { onJournal: (e) => stateFile.append(e) } : {}),
  });
  engine.schedule();
  const faults = new Faults(
    {
      latencyMs: opts.latencyMs ?? 0,
      failRate: opts.failRate ?? 0,
      ...(opts.failKinds ? { failKinds: opts.failKinds } : {}),
      rateLimit: opts.rateLimit ?? null,
      timeoutHoldMs: opts.timeoutHoldMs ?? 0,
    },
    opts.faultSeed,
  );
  if (opts.seedFile !== undefined) {
    try {
      await seedFromFile(engine, opts.seedFile);
    } catch (e) {
      engine.close();
      if (stateFile) await stateFile.close();
      throw e;
    }
  }
  const held = new Set<Socket>();
  const durable = async () => {
    if (stateFile) await stateFile.sync();
  };

  async function serveApi(req: IncomingMessage, res: ServerResponse, url: URL, text: string): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    let segments: string[];
    try {
      segments = url.pathname.slice('/v1/'.length).split('/').map(decodeURIComponent);
    } catch {
      segments = [];
    }
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
    engine.countRequest(engine.routeKey(method, segments));
    const exchangeBase = { method, path: url.pathname.slice(3) + url.search, query, headers: maskHeaders(req.headers) };
    let requestBody: unknown = text;
    const answer = (r: Reply, headers: Record<string, string> = {}) => {
      engine.countStatus(r.status);
      send(res, r.status, r.body, headers);
      opts.onExchange?.({ ...exchangeBase, requestBody, status: r.status, responseBody: r.body });
    };

    const { latencyMs } = faults.config;
    if (latencyMs > 0) await sleep(latencyMs);
    const retryAfter = faults.takeToken();
    if (retryAfter !== null) {
      answer(fail(429, 'Too many requests, please retry later'), { 'retry-after': String(retryAfter) });
      return;
    }
    if (!authorized(req, apiKey)) {
      answer(fail(401, 'Invalid API details'));
      return;
    }
    const badType = checkContentType(req.headers['content-type'], text);
    if (badType) {
      answer(badType);
      return;
    }
    const parsed = parseJsonBody(text);
    if ('error' in parsed) {
      answer(parsed.error);
      return;
    }
    requestBody = parsed.body;
    const fault = faults.pick();
    if (fault === 'error') {
      answer(fail(faults.errorStatus(), 'Internal server error (injected by the emulator)'));
      return;
    }
    if (fault === 'hangup') {
      req.socket.destroy();
      return;
    }
    if (fault === 'timeout') {
      const socket = req.socket;
      held.add(socket);
      const hold = faults.config.timeoutHoldMs;
      const timer = hold > 0 ? setTimeout(() => socket.destroy(), hold) : undefined;
      socket.once('close', () => {
        held.delete(socket);
        if (timer) clearTimeout(timer);
      });
      return;
    }
    const apiReq: ApiRequest = { method, segments, query, body: parsed.body };
    const reply = engine.handle(apiReq);
    await durable();
    if (fault === 'lost') {
      req.socket.destroy();
      return;
    }
    answer(reply);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const text = await readBody(req);
        if (text === null) {
          send(res, 413, fail(413, 'Request body too large').body, { connection: 'close' });
          return;
        }
        if (url.pathname.startsWith('/v1/')) {
          await serveApi(req, res, url, text);
        } else if (url.pathname === '/_emulator' || url.pathname.startsWith('/_emulator/')) {
          const parsed = parseJsonBody(text);
          const reply = 'error' in parsed ? parsed.error : handleAdmin({ engine, faults, stateFile }, req.method ?? 'GET', url.pathname, parsed.body, url.searchParams);
          await durable();
          send(res, reply.status, reply.body);
        } else {
          send(res, 404, fail(404, `Cannot ${req.method ?? 'GET'} ${url.pathname}`).body);
        }
      } catch (e) {
        send(res, 500, fail(500, `Internal emulator error: ${messageOf(e)}`).body);
      }
    })();
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // Idle keep-alive connections stay open longer than clients keep them idle (Node's agent reuses
  // them without a limit): a server closing an idle socket just as a client reuses it makes a
  // spurious ECONNRESET. Load balancers in front of real APIs typically allow 60 s or more.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    baseUrl: `http://${shownHost}:${port}/v1`,
    adminUrl: `http://${shownHost}:${port}/_emulator`,
    port,
    apiKey,
    workspace,
    store: engine.store,
    engine,
    faults,
    close: () =>
      (closing ??= (async () => {
        engine.close();
        for (const s of held) s.destroy();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        if (stateFile) await stateFile.close();
      })()),
  };
}
