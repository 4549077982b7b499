/**
 * Raw HTTP helpers for tests that talk to the emulator as any client would (fetch, no
 * fyno-sync client in between), so the wire form — paths, content types, bodies — is the test's.
 */
export interface RawAnswer {
  status: number;
  contentType: string | null;
  /** Parsed JSON, or the text when the body is not JSON, or undefined when empty. */
  body: any;
  headers: Headers;
}

export interface RawOptions {
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
}

export async function rawCall(baseUrl: string, key: string | null, method: string, path: string, o: RawOptions = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...(key !== null ? { authorization: `Bearer ${key}` } : {}) };
  if (o.body !== undefined && typeof o.body !== 'string') headers['content-type'] = 'application/json';
  Object.assign(headers, o.headers ?? {});
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(o.body === undefined ? {} : { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }),
  });
  const text = await res.text();
  let body: unknown = text === '' ? undefined : text;
  try {
    if (text !== '') body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body, headers: res.headers };
}

export async function adminCall(adminUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${adminUrl}/${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}
