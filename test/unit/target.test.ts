import { describe, expect, it } from 'vitest';
import { isFynoSyncError, type FynoSyncError } from '../../src/errors.js';
import { createFynoClient, DEFAULT_BASE_URL, resolveTarget } from '../../src/fyno/target.js';

const KEY = 'sk_SECRET_target_test';
const base = { FYNO_API_KEY: KEY, FYNO_WSID: 'FYENV' };

function thrown(f: () => unknown): FynoSyncError {
  try {
    f();
  } catch (e) {
    if (isFynoSyncError(e)) return e;
    throw e;
  }
  throw new Error('expected a FynoSyncError');
}

describe('resolveTarget', () => {
  it('fails with config.missing_api_key and one line when FYNO_API_KEY is unset or blank', () => {
    for (const env of [{ FYNO_WSID: 'FY1' }, { FYNO_WSID: 'FY1', FYNO_API_KEY: '  ' }]) {
      const e = thrown(() => resolveTarget(env, { workspace: 'FY1' }));
      expect(e.code).toBe('config.missing_api_key');
      expect(e.message).not.toContain('\n');
      expect(e.message).toContain('FYNO_API_KEY');
    }
  });

  it('uses the defaults: live, the public API over HTTPS', () => {
    expect(resolveTarget(base)).toEqual({ target: { baseUrl: DEFAULT_BASE_URL, workspace: 'FYENV', env: 'live' }, apiKey: KEY });
  });

  it('lets flags beat the environment', () => {
    const env = { ...base, FYNO_ENV: 'live', FYNO_BASE_URL: 'https://env.example.com/v1' };
    const r = resolveTarget(env, { workspace: 'FYFLAG', env: 'test', baseUrl: 'http://127.0.0.1:4010/v1/' });
    expect(r.target).toEqual({ baseUrl: 'http://127.0.0.1:4010/v1', workspace: 'FYFLAG', env: 'test' });
  });

  it('falls back to the environment when a flag is blank', () => {
    const r = resolveTarget({ ...base, FYNO_ENV: 'test' }, { workspace: '', env: ' ' });
    expect(r.target).toMatchObject({ workspace: 'FYENV', env: 'test' });
  });

  it('requires HTTPS except for loopback hosts', () => {
    for (const url of ['http://127.0.0.1:9/v1', 'http://localhost:9/v1', 'http://[::1]:9/v1', 'http://127.8.9.10/v1', 'https://api.fyno.io/v1']) {
      expect(resolveTarget({ ...base, FYNO_BASE_URL: url }).target.baseUrl).toBe(url);
    }
    for (const url of ['http://api.fyno.io/v1', 'http://10.0.0.1/v1', 'http://localhost.evil.com/v1', 'http://128.0.0.1/v1']) {
      const e = thrown(() => resolveTarget(base, { baseUrl: url }));
      expect(e.code).toBe('config.invalid');
      expect(e.message).toMatch(/^--base-url .* plain HTTP/);
    }
  });

  it('refuses credentials, other schemes and malformed URLs without echoing them', () => {
    const e1 = thrown(() => resolveTarget({ ...base, FYNO_BASE_URL: 'https://user:pw@api.fyno.io/v1' }));
    expect(e1.code).toBe('config.invalid');
    expect(e1.message).not.toContain('pw');
    expect(thrown(() => resolveTarget(base, { baseUrl: 'ftp://x/v1' })).code).toBe('config.invalid');
    expect(thrown(() => resolveTarget(base, { baseUrl: 'not a url' })).message).toBe('--base-url is not a valid URL (expected e.g. https://api.fyno.io/v1)');
  });

  it('requires a workspace and a valid env', () => {
    expect(thrown(() => resolveTarget({ FYNO_API_KEY: KEY })).message).toBe('No Fyno workspace: set FYNO_WSID or pass --workspace');
    expect(thrown(() => resolveTarget(base, { env: 'prod' })).message).toBe("--env must be 'live' or 'test', got 'prod'");
    expect(thrown(() => resolveTarget(base, { workspace: 'a/b' })).code).toBe('config.invalid');
  });

  it('never puts the key in an error', () => {
    for (const f of [() => resolveTarget({ FYNO_API_KEY: KEY }), () => resolveTarget(base, { baseUrl: 'http://x.io' })]) {
      const e = thrown(f);
      expect(JSON.stringify(e) + e.message + String(e.stack)).not.toContain('SECRET');
    }
  });

  it('createFynoClient builds a client for the resolved target', () => {
    const c = createFynoClient(base, { env: 'test' });
    expect(c.target).toEqual({ baseUrl: DEFAULT_BASE_URL, workspace: 'FYENV', env: 'test' });
  });
});
