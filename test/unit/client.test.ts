/**
 * HttpFynoClient against throwaway node:http servers that misbehave on purpose (real HTTP,
 * no mocks): retry decisions, Retry-After, timeouts, resets, aborts, the rate limiter, and
 * that the API key never shows up in anything an error exposes.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpFynoClient, type HttpFynoClientOptions, type RequestInfo } from '../../src/fyno/http-client.js';
import { isFynoApiError, type FynoApiError } from '../../src/fyno/errors.js';

const KEY = 'sk_live_SUPERSECRET_0123456789';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number, body: string) => void;

const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(handler: Handler): Promise<{ baseUrl: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, seen.length, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => server.close() && server.closeAllConnections() });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function client(baseUrl: string, extra: Partial<HttpFynoClientOptions> = {}): HttpFynoClient {
  return new HttpFynoClient({
    target: { baseUrl, workspace: 'FY1', env: 'live' },
    apiKey: KEY,
    retry: { limit: 2, baseDelayMs: 5, maxDelayMs: 2_000 },
    timeoutMs: 2_000,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<FynoApiError> {
  try {
    await p;
  } catch (e) {
    if (isFynoApiError(e)) return e;
    throw e;
  }
  throw new Error('expected a FynoApiError');
}

function expectNoKey(e: FynoApiError): void {
  const views = [JSON.stringify(e), String(e), e.stack ?? '', inspect(e, { depth: 10, showHidden: true }), JSON.stringify(e.details), e.message];
  let c: unknown = (e as { cause?: unknown }).cause;
  while (c !== undefined && c !== null) {
    views.push(inspect(c, { depth: 10, showHidden: true }));
    c = (c as { cause?: unknown }).cause;
  }
  for (const v of views) expect(v).not.toContain('SUPERSECRET');
}

describe('HttpFynoClient requests', () => {
  it('sends Bearer auth, JSON and the user agent, and parses a profile', async () => {
    const { baseUrl, seen } = await serve((_q, res) =>
      json(res, 200, { distinct_id: 'a b', name: 'Ann', status: 1, channel: { email: 'a@x.io' }, properties: { plan: 'pro' } }),
    );
    const p = await client(baseUrl, { userAgent: 'ua-test' }).getProfile('a b');
    expect(p).toMatchObject({ distinct_id: 'a b', name: 'Ann', status: 'active', channels: { email: 'a@x.io' }, properties: { plan: 'pro' } });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/FY1/live/profiles/a%20b' });
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(seen[0]!.headers['user-agent']).toBe('ua-test');
  });

  it('sends a write body as JSON and returns the request_id of a 202', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 202, { request_id: 'r-1' }));
    const accepted = await client(baseUrl).setProperties('u1', { plan: 'pro' });
    expect(accepted).toEqual({ request_id: 'r-1' });
    expect(seen[0]!.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(seen[0]!.body)).toEqual({ distinct_id: 'u1', $set: { plan: 'pro' } });
  });

  it('reads a missing profile as null for 400 "non existing distinct_id" and for 404', async () => {
    const a = await serve((_q, res) => json(res, 400, { _message: 'incorrect/non existing distinct_id provided' }));
    expect(await client(a.baseUrl).getProfile('nobody')).toBeNull();
    const b = await serve((_q, res) => json(res, 404, { _message: 'Not found' }));
    expect(await client(b.baseUrl).getProfile('nobody')).toBeNull();
  });

  it('throws a typed error with status and Fyno _message for other 4xx answers', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 400, { _message: "Distinct ID 'u1' already exists in the 'live' version of your workspace" }));
    const e = await failure(client(baseUrl).createProfile({ distinct_id: 'u1' }));
    expect(e.code).toBe('api.bad_request');
    expect(e.api).toMatchObject({ status: 400, fynoMessage: "Distinct ID 'u1' already exists in the 'live' version of your workspace", method: 'POST', path: '/FY1/live/profiles', retryable: false, outcomeUnknown: false, attempts: 1 });
    expect(e.message).toBe("POST /FY1/live/profiles failed: 400 Distinct ID 'u1' already exists in the 'live' version of your workspace");
    expect(seen).toHaveLength(1);
  });

  it('maps 401 to api.unauthorized and does not retry it', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 401, { _message: 'Invalid API details' }));
    const e = await failure(client(baseUrl).listSuppressions());
    expect(e.code).toBe('api.unauthorized');
    expect(e.api.fynoMessage).toBe('Invalid API details');
    expect(seen).toHaveLength(1);
  });

  it('does not follow redirects (the key must not travel elsewhere)', async () => {
    const { baseUrl, seen } = await serve((_q, res) => {
      res.writeHead(302, { location: 'http://127.0.0.2:1/steal' });
      res.end();
    });
    const e = await failure(client(baseUrl).listSuppressions());
    expect(e.api.status).toBe(302);
    expect(seen).toHaveLength(1);
  });

  it('refuses a plain-HTTP base URL that is not loopback', () => {
    expect(() => client('http://api.example.com/v1')).toThrow(/plain HTTP/);
  });
});

describe('HttpFynoClient retries', () => {
  it('retries a read on 5xx and reports each attempt', async () => {
    const infos: RequestInfo[] = [];
    const { baseUrl, seen } = await serve((_q, res, n) => (n < 3 ? json(res, 503, { _message: 'busy' }) : json(res, 200, [])));
    const list = await client(baseUrl, { onRequest: (i) => infos.push(i) }).listSuppressions();
    expect(list).toEqual([]);
    expect(seen).toHaveLength(3);
    expect(infos.map((i) => [i.status, i.attempt])).toEqual([
      [503, 1],
      [503, 2],
      [200, 3],
    ]);
    expect(infos[0]).toMatchObject({ method: 'GET', route: '/{WSID}/suppressions', path: '/FY1/suppressions' });
  });

  it('gives up after the retry limit with the attempt count', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 500, { _message: 'boom' }));
    const e = await failure(client(baseUrl).getPreferences('u1'));
    expect(seen).toHaveLength(3);
    expect(e.code).toBe('api.server_error');
    expect(e.api).toMatchObject({ status: 500, attempts: 3, retryable: true, outcomeUnknown: false });
    expect(e.message).toContain('(after 3 attempts)');
  });

  it('gives up sooner when nothing answers at all (connection refused): a wrong base URL is reported in seconds', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await failure(client(`http://127.0.0.1:${port}/v1`, { retry: { limit: 8, unreachableLimit: 2, baseDelayMs: 5, maxDelayMs: 50 } }).getProfile('u1'));
    expect(e.code).toBe('api.network');
    expect(e.api.attempts).toBe(3);
  });

  it('does not retry a non-idempotent write on 5xx and marks its outcome unknown', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 502, { _message: 'bad gateway' }));
    const e = await failure(client(baseUrl).appendToProperties('u1', { tags: 'x' }));
    expect(seen).toHaveLength(1);
    expect(e.api).toMatchObject({ status: 502, attempts: 1, outcomeUnknown: true });
  });

  it('retries a write marked idempotent on 5xx', async () => {
    const { baseUrl, seen } = await serve((_q, res, n) => (n === 1 ? json(res, 500, {}) : json(res, 200, {})));
    await client(baseUrl).updateProfile('u1', { name: 'N' }, { idempotent: true });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.body).toBe(seen[0]!.body);
  });

  it('retries any write refused with 429, honouring Retry-After', async () => {
    const { baseUrl, seen } = await serve((_q, res, n) => (n === 1 ? json(res, 429, { _message: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, {})));
    const t0 = Date.now();
    await client(baseUrl).createProfile({ distinct_id: 'u1' });
    expect(seen).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  // Not RFC 9110's delta-seconds, but seconds all the same (got read it so): Date.parse('1.5')
  // is 5 January 2001, a date long past, which made it a retry at once.
  it('honours a fractional Retry-After as seconds, not as a date', async () => {
    const { baseUrl, seen } = await serve((_q, res, n) => (n === 1 ? json(res, 429, { _message: 'slow down' }, { 'retry-after': '1.5' }) : json(res, 200, [])));
    const t0 = Date.now();
    await client(baseUrl).listSuppressions();
    expect(seen).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_450);
  });

  // Issue #13 item 8: a 429 is a refusal to go faster, not a failure; it has its own budget.
  it('retries 429s on a budget of their own, apart from the failure limit', async () => {
    const answers = [429, 429, 429, 429, 200];
    const { baseUrl, seen } = await serve((_q, res, n) => json(res, answers[n - 1] ?? 200, n === answers.length ? [] : { _message: 'slow down' }, { 'retry-after': '0' }));
    await client(baseUrl, { retry: { limit: 2, baseDelayMs: 5, maxDelayMs: 2_000 }, minRps: 200 }).listSuppressions();
    expect(seen).toHaveLength(5);
  });

  it('spends the failure budget on real failures only, however many 429s came between them', async () => {
    const answers = [429, 500, 429, 429, 503, 429, 200];
    const { baseUrl, seen } = await serve((_q, res, n) => json(res, answers[n - 1] ?? 200, n === answers.length ? [] : {}, { 'retry-after': '0' }));
    await client(baseUrl, { retry: { limit: 2, baseDelayMs: 5, maxDelayMs: 2_000 }, minRps: 200 }).listSuppressions();
    expect(seen).toHaveLength(7);
  });

  it('gives up after the failure limit of 5xx, and after the 429 budget of 429s', async () => {
    const failing = await serve((_q, res) => json(res, 503, {}));
    const e = await failure(client(failing.baseUrl, { retry: { limit: 2, rateLimitLimit: 10, baseDelayMs: 5, maxDelayMs: 2_000 } }).listSuppressions());
    expect(failing.seen).toHaveLength(3);
    expect(e.api.attempts).toBe(3);
    const limited = await serve((_q, res) => json(res, 429, {}, { 'retry-after': '0' }));
    const l = await failure(client(limited.baseUrl, { retry: { limit: 0, rateLimitLimit: 3, baseDelayMs: 5, maxDelayMs: 2_000 }, minRps: 200 }).listSuppressions());
    expect(limited.seen).toHaveLength(4);
    expect(l.code).toBe('api.rate_limited');
  });

  it('stops when Retry-After is longer than the maximum delay, reporting it', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 429, { _message: 'slow down' }, { 'retry-after': '120' }));
    const e = await failure(client(baseUrl).getProfile('u1'));
    expect(seen).toHaveLength(1);
    expect(e.code).toBe('api.rate_limited');
    expect(e.api).toMatchObject({ status: 429, retryAfterSeconds: 120, retryable: true, outcomeUnknown: false });
  });

  it('uses exponential backoff with jitter from the policy', async () => {
    const { baseUrl, seen } = await serve((_q, res, n) => (n < 3 ? json(res, 503, {}) : json(res, 200, [])));
    const t0 = Date.now();
    // random() = 1 → full delays: 200 ms, then 400 ms.
    await client(baseUrl, { retry: { limit: 3, baseDelayMs: 200, maxDelayMs: 10_000 }, random: () => 0.999 }).listSuppressions();
    const elapsed = Date.now() - t0;
    expect(seen).toHaveLength(3);
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe('HttpFynoClient network failures', () => {
  const resetAfterRead: Handler = (req) => req.socket.destroy();

  it('marks a write whose connection reset after sending as outcome unknown, without retrying', async () => {
    const { baseUrl, seen } = await serve(resetAfterRead);
    const e = await failure(client(baseUrl).upsertChannels('u1', { push: [{ token: 'tok-1' }] }));
    expect(seen).toHaveLength(1);
    expect(e.code).toBe('api.network');
    expect(e.api).toMatchObject({ outcomeUnknown: true, retryable: true, attempts: 1 });
    expect(e.message).toContain('outcome unknown');
    expectNoKey(e);
  });

  it('retries a read after a connection reset', async () => {
    const { baseUrl, seen } = await serve((req, res, n) => (n === 1 ? req.socket.destroy() : json(res, 200, [])));
    expect(await client(baseUrl).listSuppressions()).toEqual([]);
    expect(seen).toHaveLength(2);
  });

  // A body cut short by a closing connection: undici says UND_ERR_RES_CONTENT_LENGTH_MISMATCH
  // (Content-Length) or an HTTPParserError without a code (chunked); got said ECONNRESET.
  it.each([
    ['a Content-Length body', { 'content-length': '200' }],
    ['a chunked body', {}],
  ])('retries a read whose answer was cut short (%s, connection: close)', async (_name, length) => {
    const { baseUrl, seen } = await serve((_q, res, n) => {
      if (n > 1) return json(res, 200, []);
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close', ...length });
      res.write('[{"channel":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await client(baseUrl).listSuppressions()).toEqual([]);
    expect(seen).toHaveLength(2);
  });

  it('does not resend a write whose answer was cut short: its outcome is unknown', async () => {
    const { baseUrl, seen } = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close', 'content-length': '200' });
      res.write('{"request_id":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const e = await failure(client(baseUrl).appendToProperties('u1', { tags: 'a' }));
    expect(seen).toHaveLength(1);
    expect(e.code).toBe('api.network');
    expect(e.api).toMatchObject({ outcomeUnknown: true, attempts: 1 });
  });

  it('times out a write as outcome unknown and does not resend it', async () => {
    const { baseUrl, seen } = await serve(() => undefined); // never answers
    const e = await failure(client(baseUrl, { timeoutMs: 200 }).mergeProfile('a', 'b'));
    expect(seen).toHaveLength(1);
    expect(e.code).toBe('api.timeout');
    expect(e.api).toMatchObject({ outcomeUnknown: true, attempts: 1 });
    expect(e.message).toContain('timed out after 200 ms');
    expectNoKey(e);
  });

  /** An https base URL whose TCP connects and whose TLS handshake never answers. */
  async function neverConnects(): Promise<string> {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    servers.push({ close: () => (silent.close(), sockets.forEach((s) => s.destroy())) });
    return `https://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`;
  }
  const once = { retry: { limit: 0, baseDelayMs: 5, maxDelayMs: 50 } };

  // undici holds an abort until the request has a connection, and gives up connecting after
  // 10 s of its own: an attempt still connecting ran 10 s whatever its timeout or the caller.
  it('times out an attempt that is still connecting on its own timeout', async () => {
    const baseUrl = await neverConnects();
    const t0 = Date.now();
    const e = await failure(client(baseUrl, { timeoutMs: 300, ...once }).listSuppressions());
    expect(e.code).toBe('api.timeout');
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('aborts an attempt that is still connecting at once', async () => {
    const baseUrl = await neverConnects();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const e = await failure(client(baseUrl, { timeoutMs: 30_000, ...once }).createProfile({ distinct_id: 'u1' }, { signal: ac.signal }));
    expect(e.api.aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('gives a connection that does not complete the whole attempt timeout, not undici\'s 10 s', async () => {
    const baseUrl = await neverConnects();
    const t0 = Date.now();
    const e = await failure(client(baseUrl, { timeoutMs: 12_000, ...once }).listSuppressions());
    expect(e.message).toContain('timed out after 12000 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(11_900);
  }, 20_000);

  it('lets the process exit once a call still connecting was aborted', async () => {
    const baseUrl = await neverConnects();
    const clientModule = fileURLToPath(new URL('../../src/fyno/http-client.ts', import.meta.url));
    const script = [
      `import { HttpFynoClient } from ${JSON.stringify(clientModule)};`,
      `const c = new HttpFynoClient({ target: { baseUrl: ${JSON.stringify(baseUrl)}, workspace: 'FY1', env: 'live' }, apiKey: 'k' });`,
      `const ac = new AbortController();`,
      `setTimeout(() => ac.abort(), 200);`,
      `await c.listSuppressions({ signal: ac.signal }).catch(() => console.log('aborted'));`,
    ].join('\n');
    const t0 = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    expect(out).toContain('aborted');
    expect(Date.now() - t0).toBeLessThan(6_000);
  }, 25_000);

  it('retries even a non-idempotent write when the connection was refused (nothing was sent)', async () => {
    const { baseUrl } = await serve(() => undefined);
    servers.splice(0).forEach((s) => s.close());
    const infos: RequestInfo[] = [];
    const e = await failure(client(baseUrl, { onRequest: (i) => infos.push(i) }).createProfile({ distinct_id: 'u1' }));
    expect(e.code).toBe('api.network');
    expect(e.api).toMatchObject({ outcomeUnknown: false, attempts: 3 });
    expect(infos.map((i) => i.status)).toEqual([undefined, undefined, undefined]);
    expectNoKey(e);
  });

  it('aborts an in-flight request through the caller signal', async () => {
    const { baseUrl } = await serve(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await failure(client(baseUrl).deleteProfiles(['u1'], { signal: ac.signal }));
    expect(e.code).toBe('apply.interrupted');
    expect(e.api).toMatchObject({ aborted: true, outcomeUnknown: true });
    expectNoKey(e);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 200, {}));
    const ac = new AbortController();
    ac.abort();
    const e = await failure(client(baseUrl).deleteProfiles(['u1'], { signal: ac.signal }));
    expect(e.api).toMatchObject({ aborted: true, outcomeUnknown: false, attempts: 0 });
    expect(seen).toHaveLength(0);
  });

  it('aborts while waiting between retries', async () => {
    const ac = new AbortController();
    // Abort once the first answer is out, i.e. during the 5 s backoff (not by wall clock, so a
    // slow machine cannot abort before the first attempt).
    const { baseUrl, seen } = await serve((_q, res) => {
      json(res, 503, {});
      setTimeout(() => ac.abort(), 50);
    });
    const t0 = Date.now();
    const e = await failure(client(baseUrl, { retry: { limit: 5, baseDelayMs: 5_000, maxDelayMs: 5_000 }, random: () => 0.999 }).listSuppressions({ signal: ac.signal }));
    expect(e.api.aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
  });
});

describe('HttpFynoClient never exposes the API key', () => {
  it('redacts the key from every failure, including a server that echoes it back', async () => {
    const echo = await serve((req, res) => json(res, 401, { _message: `Invalid API details: ${req.headers.authorization ?? ''}` }));
    const html = await serve((req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<h1>oops</h1><pre>${JSON.stringify(req.headers)}</pre>`);
    });
    const reset = await serve((req) => req.socket.destroy());
    const silent = await serve(() => undefined);
    const errors: FynoApiError[] = [
      await failure(client(echo.baseUrl).getProfile('u1')),
      await failure(client(html.baseUrl).createProfile({ distinct_id: 'u1' })),
      await failure(client(reset.baseUrl).listSuppressions()),
      await failure(client(silent.baseUrl, { timeoutMs: 100 }).listSuppressions()),
      await failure(client('http://127.0.0.1:1/v1').listSuppressions()),
    ];
    expect(errors.map((e) => e.code)).toEqual(['api.unauthorized', 'api.server_error', 'api.network', 'api.timeout', 'api.network']);
    expect(errors[0]!.api.fynoMessage).toBe('Invalid API details: Bearer ***');
    for (const e of errors) {
      expect((e as { cause?: unknown }).cause).toBeUndefined();
      expectNoKey(e);
    }
  });

  it('keeps the key out of inspect and JSON of the client itself', () => {
    const c = client('http://127.0.0.1:1/v1');
    expect(inspect(c, { depth: 5, showHidden: true })).not.toContain('SUPERSECRET');
    expect(JSON.stringify(c)).not.toContain('SUPERSECRET');
  });
});

describe('HttpFynoClient rate limit', () => {
  it('spaces requests to the global rps across concurrent calls', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 200, []));
    const c = client(baseUrl, { rps: 20 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 11 }, () => c.listSuppressions()));
    // 11 starts at 20/s: the last one no earlier than 10 intervals of 50 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(seen).toHaveLength(11);
  });

  it('does not count the wait for a rate slot against the request timeout', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 200, []));
    const c = client(baseUrl, { rps: 5, timeoutMs: 150 });
    await Promise.all(Array.from({ length: 4 }, () => c.listSuppressions()));
    expect(seen).toHaveLength(4);
  });

  it('aborts a call still waiting for a rate slot without sending it', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 200, {}));
    const c = client(baseUrl, { rps: 2 });
    await c.listSuppressions(); // takes the first slot
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const e = await failure(c.createProfile({ distinct_id: 'u1' }, { signal: ac.signal }));
    expect(e.api).toMatchObject({ aborted: true, attempts: 0, outcomeUnknown: false });
    await new Promise((r) => setTimeout(r, 600));
    expect(seen).toHaveLength(1);
  });

  it('ignores an onRequest observer that throws', async () => {
    const { baseUrl, seen } = await serve((_q, res) => json(res, 200, []));
    const c = client(baseUrl, {
      onRequest: () => {
        throw new Error('observer bug');
      },
    });
    expect(await c.listSuppressions()).toEqual([]);
    expect(seen).toHaveLength(1);
  });
});
