/**
 * Base URL safety (PRODUCT.md, "Commands" → Target): the API key is sent only over HTTPS, or
 * over plain HTTP to a loopback address (the emulator). Shared by target.ts and the client,
 * which checks again so a hand-built `Target` cannot bypass the rule.
 */
import { FynoSyncError } from '../errors.js';

/** Fyno's public API (spec `servers`). */
export const DEFAULT_BASE_URL = 'https://api.fyno.io/v1';

/** 127.0.0.0/8, `localhost` and `[::1]`. The URL parser has already normalised the host. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h === '[::1]') return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  return m !== null && m[1] === '127' && m.slice(2).every((o) => Number(o) <= 255);
}

/**
 * Validate and normalise a base URL (no trailing slash). Throws `config.invalid` for a
 * malformed URL, a scheme other than http(s), embedded credentials, a query or fragment,
 * or plain HTTP to anything but a loopback address. `source` names the setting in messages.
 */
export function checkBaseUrl(raw: string, source = 'FYNO_BASE_URL'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Echo nothing of the value: a malformed URL may still carry credentials.
    throw new FynoSyncError('config.invalid', `${source} is not a valid URL (expected e.g. ${DEFAULT_BASE_URL})`, { setting: source });
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FynoSyncError('config.invalid', `${source} must be an http(s) URL, got scheme '${url.protocol}'`, { setting: source });
  }
  if (url.username !== '' || url.password !== '') {
    throw new FynoSyncError('config.invalid', `${source} must not contain credentials; put the key in FYNO_API_KEY`, { setting: source });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new FynoSyncError('config.invalid', `${source} must not have a query or fragment: ${shown}`, { setting: source });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new FynoSyncError(
      'config.invalid',
      `${source} ${shown} uses plain HTTP to a non-loopback host; the API key is only sent over HTTPS or to 127.0.0.1/localhost/[::1]`,
      { setting: source, baseUrl: shown },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * A hint for a 404 when the base URL ends without an API version: Fyno's paths are under
 * `/v1` (spec `servers`), so `https://api.fyno.io` (or the emulator's address without `/v1`)
 * answers 404 to every request (issue #16). `undefined` when the base URL has a version.
 */
export function missingVersionHint(baseUrl: string): string | undefined {
  const trimmed = baseUrl.replace(/\/+$/, '');
  if (/\/v\d+$/.test(new URL(trimmed).pathname)) return undefined;
  return `the base URL ${trimmed} does not end in /v1; Fyno's API is at ${trimmed}/v1 (set FYNO_BASE_URL or --base-url to it)`;
}
