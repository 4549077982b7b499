/**
 * Where requests go and with which key: environment + flags → `Target` and API key.
 *
 * PRODUCT.md ("Commands" → Target): `FYNO_API_KEY` comes from the environment only, never a
 * flag; `FYNO_WSID`, `FYNO_ENV` (`live`|`test`), `FYNO_BASE_URL`; flags `--workspace`, `--env`,
 * `--base-url` override. The key is sent only over HTTPS, or over plain HTTP to a loopback
 * address (the emulator); anything else is refused here, before any request can be made.
 */
import { FynoSyncError } from '../errors.js';
import type { Target } from './types.js';
import { HttpFynoClient, type HttpFynoClientOptions } from './http-client.js';
import { checkBaseUrl, DEFAULT_BASE_URL } from './base-url.js';

export { checkBaseUrl, DEFAULT_BASE_URL, isLoopbackHost } from './base-url.js';

export interface TargetFlags {
  workspace?: string;
  env?: string;
  baseUrl?: string;
}

export interface ResolvedTarget {
  target: Target;
  apiKey: string;
}

/** An empty or blank value counts as unset, as shells make `FOO=` easy to leave behind. */
function pick(...values: (string | undefined)[]): { value: string; index: number } | undefined {
  for (const [index, v] of values.entries()) {
    if (v !== undefined && v.trim() !== '') return { value: v.trim(), index };
  }
  return undefined;
}

/**
 * Resolve the target from the environment and CLI flags (flags win). Throws `FynoSyncError`
 * with one clear line: `config.missing_api_key` or `config.invalid`.
 */
export function resolveTarget(env: Record<string, string | undefined>, flags: TargetFlags = {}): ResolvedTarget {
  // 1. The key: environment only, so it never lands in shell history or process listings.
  const apiKey = env.FYNO_API_KEY?.trim() ?? '';
  if (apiKey === '') {
    throw new FynoSyncError('config.missing_api_key', 'FYNO_API_KEY is not set: export your Fyno API key in the environment (it is never accepted as a flag)', {
      setting: 'FYNO_API_KEY',
    });
  }
  if (/[\r\n]/.test(apiKey)) {
    throw new FynoSyncError('config.invalid', 'FYNO_API_KEY contains a line break', { setting: 'FYNO_API_KEY' });
  }

  // 2. Workspace.
  const ws = pick(flags.workspace, env.FYNO_WSID);
  if (ws === undefined) {
    throw new FynoSyncError('config.invalid', 'No Fyno workspace: set FYNO_WSID or pass --workspace', { setting: 'FYNO_WSID' });
  }
  const wsSource = ws.index === 0 ? '--workspace' : 'FYNO_WSID';
  if (/[\s/?#]/.test(ws.value) || ws.value === '.' || ws.value === '..') {
    throw new FynoSyncError('config.invalid', `${wsSource} '${ws.value}' is not a workspace ID (e.g. FYXXXXXXXX)`, { setting: wsSource });
  }

  // 3. Version: `live` (the spec's default) or `test`.
  const ver = pick(flags.env, env.FYNO_ENV);
  const verSource = ver?.index === 0 ? '--env' : 'FYNO_ENV';
  const version = ver?.value ?? 'live';
  if (version !== 'live' && version !== 'test') {
    throw new FynoSyncError('config.invalid', `${verSource} must be 'live' or 'test', got '${version}'`, { setting: verSource });
  }

  // 4. Base URL, with the HTTPS/loopback rule.
  const base = pick(flags.baseUrl, env.FYNO_BASE_URL);
  const baseUrl = checkBaseUrl(base?.value ?? DEFAULT_BASE_URL, base?.index === 0 ? '--base-url' : 'FYNO_BASE_URL');

  return { target: { baseUrl, workspace: ws.value, env: version }, apiKey };
}

/** `resolveTarget` + `new HttpFynoClient`: the usual way the CLI gets its client. */
export function createFynoClient(
  env: Record<string, string | undefined>,
  flags: TargetFlags = {},
  opts: Omit<HttpFynoClientOptions, 'target' | 'apiKey'> = {},
): HttpFynoClient {
  const { target, apiKey } = resolveTarget(env, flags);
  return new HttpFynoClient({ ...opts, target, apiKey });
}
