import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/build.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import { renderJson, renderMarkdown, renderText } from '../../src/plan/render/index.js';
import type { Plan } from '../../src/plan/types.js';
import { actual, CREATED_AT, desired, live, prefs, profile, TARGET, topic } from './plan-builders.js';

const TOKEN = 'ExponentPushToken[zz-very-secret-token-9f3a]';
const OLD_TOKEN = 'fcm:old-device-token-77aa01';
const SHORT_TOKEN = 'u-42';
const ENV_PHONE = '+919812345678';
const ENV_PROP = 'sk_live_51HxEnvSourced';
const SECRETS = [TOKEN, OLD_TOKEN, SHORT_TOKEN, ENV_PHONE, ENV_PROP];

function richPlan(): Plan {
  const d = desired(
    profile('new-1', { name: 'Priya', channels: { sms: ENV_PHONE, push: [{ token: TOKEN, integration_id: 'I1' }] }, sensitive: ['channels.sms'] }),
    profile('upd-1', {
      name: 'Priya S',
      channels: { email: null, push: [{ token: TOKEN }], inapp: [] },
      properties: { plan: { op: 'set', value: 'premium' }, api_key: { op: 'set', value: ENV_PROP }, old: { op: 'unset' } },
      preferences: { S1: { sms: 'opted-out' }, S2: { sms: 'opted-out' } },
      sensitive: ['properties.api_key'],
    }),
    profile('tgt-1', { merge_from: ['lead-1'] }),
    profile('gone-1', { state: 'absent' }),
    profile('same-1', { name: 'Same' }),
  );
  const a = actual(
    ['new-1', null],
    [
      'upd-1',
      live('upd-1', {
        name: 'Priya',
        channels: { email: 'p@x.io', push: [{ token: OLD_TOKEN }], inapp: [{ token: SHORT_TOKEN }] },
        properties: { plan: 'basic', api_key: 'sk_live_old', old: 1 },
      }),
      prefs([topic('S1'), topic('S2', {}, { sms: 'required' })]),
    ],
    ['tgt-1', live('tgt-1')],
    ['lead-1', live('lead-1')],
    ['gone-1', live('gone-1')],
    ['same-1', live('same-1', { name: 'Same' })],
  );
  return buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files });
}

function emptyPlan(): Plan {
  const d = desired(profile('same-1', { name: 'Same' }));
  return buildPlan(d, actual(['same-1', live('same-1', { name: 'Same' })]), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
}

/** A plan of `n` profiles, each with one property change (built directly: rendering is under test). */
function hugePlan(n: number): Plan {
  const d = desired(...Array.from({ length: n }, (_, i) => profile(`user-${i}`, { properties: { plan: { op: 'set', value: 'premium' } }, ...(i % 10 === 0 ? { state: 'absent' as const } : {}) })));
  const a = actual(...Array.from({ length: n }, (_, i): [string, ReturnType<typeof live>] => [`user-${i}`, live(`user-${i}`, { properties: { plan: 'basic' } })]));
  return buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files });
}

describe('renderText', () => {
  it('starts with the summary line and shows only changes, before → after', () => {
    const text = renderText(richPlan());
    const lines = text.split('\n');
    expect(lines[0]).toBe('Plan: 1 to create, 1 to update, 1 to merge, 1 to delete, 1 unchanged.');
    expect(text).toContain('~ name: "Priya" → "Priya S"');
    expect(text).toContain('~ properties.plan: "basic" → "premium"');
    expect(text).toContain('- properties.old: 1 → (unset)');
    expect(text).toContain('- channels.email: "p@x.io" → (channel deleted)');
    expect(text).toContain('~ preferences.S1.sms: opted-in → opted-out');
    expect(text).toContain('» merge lead-1 into this profile');
    expect(text).toContain('- gone-1 (delete, 1 operation)');
    expect(text).not.toContain('same-1');
  });

  it('puts problems right after the summary, before any profile', () => {
    const text = renderText(richPlan());
    const problem = text.indexOf('Error: 1 problem(s) prevent applying this plan:');
    expect(problem).toBeGreaterThan(0);
    expect(text).toContain('profiles.yaml:1:3 upd-1 preferences.S2.sms: channel sms is required for topic S2');
    expect(problem).toBeLessThan(text.indexOf('new-1'));
  });

  it('masks tokens and env-sourced values, showing at most a long token’s last four characters', () => {
    const text = renderText(richPlan());
    for (const s of SECRETS) expect(text).not.toContain(s);
    expect(text).toContain('+ channels.sms: (sensitive)');
    expect(text).toContain('~ properties.api_key: (sensitive) → (sensitive)');
    expect(text).toContain('insert token …f3a]');
    expect(text).toContain('delete token …aa01');
    expect(text).toContain('delete token ••••');
  });

  it('shows a kept token whose integration changed as an update, masked, and keeps the mark through a saved plan', () => {
    const d = desired(profile('tok-1', { channels: { push: [{ token: TOKEN, integration_id: 'I2' }] } }));
    const plan = buildPlan(d, actual(['tok-1', live('tok-1', { channels: { push: [{ token: TOKEN, integration_id: 'I1' }] } })]), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
    const text = renderText(plan);
    expect(text).toContain('~ channels.push: update token …f3a] (integration I2)');
    expect(text).not.toContain('insert');
    expect(text).not.toContain(TOKEN);
    expect(renderText(parsePlan(serializePlan(plan), 'p.json'))).toContain('~ channels.push: update token');
  });

  it('says "No changes." for an empty plan', () => {
    expect(renderText(emptyPlan())).toBe('Plan: 0 to create, 0 to update, 0 to merge, 0 to delete, 1 unchanged.\n\nNo changes. Live state matches the desired state.\n');
  });

  it('uses colour only when asked', () => {
    // eslint-disable-next-line no-control-regex
    const ansi = /\u001b\[/;
    expect(renderText(richPlan())).not.toMatch(ansi);
    expect(renderText(richPlan(), { color: true })).toMatch(ansi);
    const marked = renderText(richPlan(), { style: (name, t) => `<${name}>${t}</${name}>` });
    expect(marked.split('\n')[0]).toBe('<bold>Plan: 1 to create, 1 to update, 1 to merge, 1 to delete, 1 unchanged.</bold>');
    expect(marked).toContain('<red>- delete profile</red>');
  });

  it('renders a saved (redacted) plan the same way, tokens fully masked', () => {
    const plan = richPlan();
    const saved = renderText(parsePlan(serializePlan(plan), 'p.json'));
    for (const s of SECRETS) expect(saved).not.toContain(s);
    expect(saved).toBe(renderText(plan).replace(/token …\S{4}/g, 'token ••••'));
  });
});

describe('scope and problems only', () => {
  it('says how much of the desired state a narrowed plan left out, in every rendering', () => {
    const d = desired(profile('a-1', { name: 'x' }), profile('b-1', { name: 'y' }));
    const plan = buildPlan(d, actual(['a-1', null], ['b-1', null]), {
      createdAt: CREATED_AT,
      target: TARGET,
      sources: d.files,
      select: { target: ['a-*'] },
      scope: { target: ['a-*'], skipped: 1 },
    });
    expect(renderText(plan).split('\n').slice(0, 2)).toEqual([
      'Plan: 1 to create, 0 to update, 0 to merge, 0 to delete, 0 unchanged.',
      'Scope: 1 profile(s) of the desired state left out (--target a-*).',
    ]);
    expect(renderMarkdown(plan)).toContain('_Scope: 1 profile(s) of the desired state left out (--target a-\\*)._');
    expect(JSON.parse(renderJson(plan)).scope).toEqual({ skipped: 1, target: ['a-*'] });
  });

  it('shows problems and no changes when nothing else is planned', () => {
    const d = desired(profile('p', { state: 'absent', protected: true }));
    const plan = buildPlan(d, actual(['p', live('p')]), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
    const text = renderText(plan);
    expect(text).toContain('Error: 1 problem(s) prevent applying this plan:');
    expect(text).toContain('p state: profile is protected and is never deleted');
    expect(text.trimEnd().endsWith('No other changes.')).toBe(true);
    expect(renderMarkdown(plan)).toContain('[!CAUTION]');
  });
});

describe('renderJson', () => {
  it('is the saved-plan document, without secrets', () => {
    const plan = richPlan();
    const json = renderJson(plan);
    expect(json).toBe(serializePlan(plan));
    for (const s of SECRETS) expect(json).not.toContain(s);
    const doc = JSON.parse(json) as Plan;
    expect(doc.format_version).toBe(1);
    expect(doc.summary.operations).toBe(plan.operations.length);
    expect(doc.operations.map((o) => o.type)).toEqual(plan.operations.map((o) => o.type));
  });
});

describe('renderMarkdown', () => {
  it('shows the summary first, problems and risky operations before the details', () => {
    const md = renderMarkdown(richPlan());
    const at = (s: string) => {
      const i = md.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at('**Plan: 1 to create, 1 to update, 1 to merge, 1 to delete, 1 unchanged.**')).toBeLessThan(at('| Create |'));
    expect(at('| 1 | 1 | 1 | 1 | 1 |')).toBeLessThan(at('[!CAUTION]'));
    expect(at('[!CAUTION]')).toBeLessThan(at('Destructive operations (5)'));
    expect(at('<code>gone-1</code>: delete profile')).toBeLessThan(at('#### Changes by profile'));
    expect(md).toContain('<code>tgt-1</code>: merge lead-1 into it');
    expect(md).toContain('<code>upd-1</code>: delete channel email');
    expect(md).toContain('<code>upd-1</code>: delete 1 push token(s)');
    expect(md).toContain('<code>upd-1</code>: delete 1 inapp token(s)');
    expect(md.match(/<details>/g)).toHaveLength(4);
    expect(md).toContain('```diff\n+ create profile');
    expect(md).not.toContain('not shown');
  });

  it('never contains a secret', () => {
    const md = renderMarkdown(richPlan());
    for (const s of SECRETS) expect(md).not.toContain(s);
  });

  it('says "No changes." for an empty plan', () => {
    const md = renderMarkdown(emptyPlan());
    expect(md).toContain('**No changes.**');
    expect(md).not.toContain('<details>');
  });

  it('escapes ids and cannot be broken out of by values', () => {
    const id = '<img src=x onerror=alert(1)>';
    const d = desired(profile(id, { properties: { note: { op: 'set', value: '``` </details> <b>x' } } }));
    const md = renderMarkdown(buildPlan(d, actual([id, live(id)]), { createdAt: CREATED_AT, target: TARGET, sources: [] }));
    expect(md).not.toContain('<img');
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // The value sits inside a fence longer than any backtick run in it.
    expect(md).toContain('````diff\n+ properties.note: "``` </details> <b>x"\n````');
  });

  it('stays under 60,000 characters for 100,000 profiles and says what it left out', () => {
    const plan = hugePlan(100_000);
    const md = renderMarkdown(plan);
    expect(md.length).toBeLessThan(60_000);
    const m = /(\d+) profile\(s\) \((\d+) operation\(s\)\) not shown/.exec(md);
    expect(m).not.toBeNull();
    const shownProfiles = md.match(/<details>/g)?.length ?? 0;
    expect(shownProfiles + Number(m![1])).toBe(100_000);
    expect(Number(m![2])).toBe(plan.operations.length - shownProfiles);
    expect(md).toMatch(/\d+ destructive operation\(s\) not listed above/);
    expect(md.indexOf('**Plan: 0 to create, 90000 to update, 0 to merge, 10000 to delete, 0 unchanged.**')).toBeGreaterThan(0);
  }, 60_000);

  it.each([2_000, 5_000, 20_000])('honours a maxChars of %i', (maxChars) => {
    const md = renderMarkdown(hugePlan(2_000), { maxChars });
    expect(md.length).toBeLessThan(maxChars);
    expect(md).toContain('not shown');
  });

  it('bounds a plan with thousands of problems and still shows the changes', () => {
    const n = 5_000;
    const d = desired(
      ...Array.from({ length: n }, (_, i) => profile(`p-${i}`, { preferences: { S2: { sms: 'opted-out' } }, properties: { plan: { op: 'set', value: 'x' } } })),
    );
    const a = actual(...Array.from({ length: n }, (_, i): [string, ReturnType<typeof live>, ReturnType<typeof prefs>] => [`p-${i}`, live(`p-${i}`), prefs([topic('S2', {}, { sms: 'required' })])]));
    const md = renderMarkdown(buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: [] }));
    expect(md.length).toBeLessThan(60_000);
    expect(md).toMatch(/> - … and \d+ more/);
    expect(md).toContain('#### Changes by profile');
    expect(md).toContain('<code>p-0</code>: update, 1 operation');
  });

  it('cuts a single huge profile inside its section rather than dropping it', () => {
    const many = Array.from({ length: 3_000 }, (_, i) => [`k${i}`, { op: 'set' as const, value: `v${i}` }] as const);
    const d = desired(profile('big', { properties: Object.fromEntries(many) }));
    const md = renderMarkdown(buildPlan(d, actual(['big', live('big')]), { createdAt: CREATED_AT, target: TARGET, sources: [] }));
    expect(md.length).toBeLessThan(60_000);
    expect(md).toContain('<code>big</code>: update, 3000 operations');
    expect(md).toMatch(/# … \d+ more operation\(s\) not shown/);
  });
});
