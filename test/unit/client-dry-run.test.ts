import { describe, expect, it } from 'vitest';
import { DryRunFyno, formatRequest, formatRequests, maskRequest } from '../../src/fyno/dry-run.js';
import type { ActualProfile, FynoApi, Target } from '../../src/fyno/types.js';
import { buildCreateProfile } from '../../src/fyno/wire.js';
import { isFynoApiError } from '../../src/fyno/errors.js';

const target: Target = { baseUrl: 'https://api.fyno.io/v1', workspace: 'FY1', env: 'live' };
const ann: ActualProfile = { distinct_id: 'ann', status: 'active', channels: {}, properties: {}, server: {} };

/** A read-only port: any write reaching it fails the test. */
function readsOnly(calls: string[]): FynoApi {
  const reads: Partial<FynoApi> = {
    target,
    getProfile: async (id) => (calls.push(`getProfile ${id}`), id === 'ann' ? ann : null),
    getPreferences: async (id) => (calls.push(`getPreferences ${id}`), { all: {}, topics: [] }),
    listSuppressions: async () => (calls.push('listSuppressions'), []),
  };
  return new Proxy(reads as FynoApi, {
    get(t, prop) {
      if (prop in t) return (t as unknown as Record<string | symbol, unknown>)[prop];
      return () => {
        throw new Error(`write ${String(prop)} reached the real API`);
      };
    },
  });
}

describe('DryRunFyno', () => {
  it('answers reads from the real API and records writes without sending them', async () => {
    const calls: string[] = [];
    const dry = new DryRunFyno(readsOnly(calls));
    expect(await dry.getProfile('ann')).toEqual(ann);
    expect(await dry.getProfile('bob')).toBeNull();
    await dry.createProfile({ distinct_id: 'bob', name: 'Bob', status: 'active' });
    await dry.mergeProfile('old', 'ann');
    expect(await dry.appendToProperties('ann', { tags: 'vip' })).toEqual({ request_id: 'dry-run' });
    await dry.deleteSuppression({ distinct_id: 'ann' });
    expect(calls).toEqual(['getProfile ann', 'getProfile bob']);
    expect(formatRequests(dry.writes).split('\n')).toEqual([
      'POST /FY1/live/profiles {"distinct_id":"bob","name":"Bob","status":1}',
      'PATCH /FY1/live/profiles/old/merge/ann',
      'POST /FY1/live/profiles/properties/list-append {"distinct_id":"ann","$append":{"tags":"vip"}}',
      'DELETE /FY1/suppressions?distinct_id=ann',
    ]);
  });

  it('masks push and inapp tokens in creates, channel upserts and token deletes', async () => {
    const dry = new DryRunFyno(readsOnly([]));
    await dry.createProfile({ distinct_id: 'a', channels: { email: 'a@x.io', push: [{ token: 'PUSHTOKEN1', integration_id: 'fcm' }] } });
    await dry.upsertChannels('a', { inapp: [{ token: 'INAPPTOKEN', status: 1 }], sms: '+15550001111' });
    await dry.deleteTokens('a', { push: ['PUSHTOKEN1'] });
    const out = formatRequests(dry.writes);
    expect(out).not.toMatch(/PUSHTOKEN1|INAPPTOKEN/);
    expect(dry.writes.map((w) => w.body)).toEqual([
      { distinct_id: 'a', channel: { email: 'a@x.io', push: [{ token: '***', integration_id: 'fcm' }] } },
      { channel: { sms: '+15550001111', inapp: [{ token: '***', status: 1 }] } },
      { push: ['***'], inapp: [] },
    ]);
  });

  it('masks given secret values in queries and bodies, never in ids', async () => {
    const seen: string[] = [];
    const dry = new DryRunFyno(readsOnly([]), { secrets: ['s3cr3t value', '4242'], onWrite: (s) => seen.push(formatRequest(s)) });
    await dry.setProperties('user s3cr3t value', { note: 'has s3cr3t value inside', pin: 4242 });
    await dry.deleteSuppression({ destination: 's3cr3t value' });
    expect(seen).toEqual([
      'POST /FY1/live/profiles/properties/set {"distinct_id":"user s3cr3t value","$set":{"note":"has *** inside","pin":"***"}}',
      'DELETE /FY1/suppressions?destination=***',
    ]);
    expect(dry.writes).toHaveLength(2);
  });

  it('never masks the path: it holds ids only, even when a secret equals one', () => {
    const spec = buildCreateProfile(target, { distinct_id: 'a b!', channels: { inapp: [{ token: 'a b!' }] } });
    const masked = maskRequest({ ...spec, path: '/FY1/live/profiles/a%20b%21/channel' }, ['a b!']);
    expect(masked.path).toBe('/FY1/live/profiles/a%20b%21/channel');
    expect(masked.body).toEqual({ distinct_id: 'a b!', channel: { inapp: [{ token: '***' }] } });
    expect(spec.path).toBe('/FY1/live/profiles'); // the input is not modified
  });

  it('refuses to record once the signal is aborted', async () => {
    const dry = new DryRunFyno(readsOnly([]));
    const ac = new AbortController();
    ac.abort();
    const e = await dry.deleteProfiles(['a'], { signal: ac.signal }).catch((x: unknown) => x);
    expect(isFynoApiError(e) && e.api.aborted).toBe(true);
    expect(dry.writes).toEqual([]);
  });
});
