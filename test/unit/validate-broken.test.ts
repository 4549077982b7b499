/**
 * The broken-input corpus (issue #3, "Bad input"): every file or directory under
 * test/fixtures/broken/ goes through the real CLI and must fail with exit 1, name the expected
 * file:line:column, say what is wrong, and never show a stack trace.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';

const BROKEN = fileURLToPath(new URL('../fixtures/broken/', import.meta.url));

const run = (argv: string[], cwd: string, env: Record<string, string> = {}) => runMain(argv, { cwd, env });

function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(text).not.toMatch(/Internal error|TypeError|ReferenceError|RangeError/);
}

/** [file or directory, where the first error is (file:line:col), a phrase of its message]. */
const CASES: readonly (readonly [string, string, string])[] = [
  ['absent-with-other-keys.yaml', 'absent-with-other-keys.yaml:5:5', 'takes no other keys than distinct_id and protected'],
  ['bad-date-day.yaml', 'bad-date-day.yaml:5:21', '"2024-02-30" is not a valid date'],
  ['bad-date-in-list.yaml', 'bad-date-in-list.yaml:5:28', 'properties.visits[1]: "2024-13-01" is not a valid date'],
  ['bad-date-no-zone.yaml', 'bad-date-no-zone.yaml:5:19', 'is a date without a timezone'],
  ['bad-email.yaml', 'bad-email.yaml:5:14', '"priya.example.com" is not a valid email address'],
  ['bad-phone-letters.yaml', 'bad-phone-letters.yaml:5:17', 'channels.whatsapp: "+91 CALL-ME-NOW" is not a valid phone number'],
  ['bad-phone-short.yaml', 'bad-phone-short.yaml:5:12', 'channels.sms: "12345" is not a valid phone number'],
  ['bad-preference-channel.yaml', 'bad-preference-channel.yaml:5:14', 'unknown key "fax"'],
  ['bad-preference-value.yaml', 'bad-preference-value.yaml:5:19', 'must be one of opted-in, opted-out, not "off"'],
  ['bad-property-key.yaml', 'bad-property-key.yaml:5:7', 'key "plan name" is not a valid property key'],
  ['bad-timezone-offset.yaml', 'bad-timezone-offset.yaml:3:13', 'defaults.timezone: "GMT+5:30" is not an IANA timezone name'],
  ['bad-timezone.yaml', 'bad-timezone.yaml:4:15', '(did you mean "Asia/Calcutta"?)'],
  ['binary-junk.yaml', 'binary-junk.yaml:3:1', 'file is binary'],
  ['comments-only.yaml', 'comments-only.yaml:1:1', 'file has no YAML content'],
  ['distinct-id-256-characters.yaml', 'distinct-id-256-characters.yaml:3:18', 'is 256 characters long; at most 255'],
  ['duplicate-across-files', 'duplicate-across-files/b.yaml:4:18', 'is declared twice; it is also declared at duplicate-across-files/a.yaml:3:18'],
  ['duplicate-id-in-file.yaml', 'duplicate-id-in-file.yaml:5:18', 'distinct_id "cust-1" is declared twice'],
  ['duplicate-key.yaml', 'duplicate-key.yaml:5:5', 'this key appears twice'],
  ['duplicate-token.yaml', 'duplicate-token.yaml:7:11', 'the same token is listed twice'],
  ['empty.yaml', 'empty.yaml:1:1', 'file is empty'],
  ['infinite-number.yaml', 'infinite-number.yaml:5:12', 'must be a finite number'],
  ['invalid-utf8.yaml', 'invalid-utf8.yaml:4:14', 'not valid UTF-8'],
  ['list-duplicate-value.yaml', 'list-duplicate-value.yaml:5:25', '"vip" is listed twice'],
  ['malformed-variable.yaml', 'malformed-variable.yaml:4:11', 'malformed variable reference'],
  ['merge-cycle-across-files', 'merge-cycle-across-files/a.yaml:4:17', 'merge cycle: cust-1 ← cust-2 ← cust-3 ← cust-1'],
  ['merge-from-empty-list.yaml', 'merge-from-empty-list.yaml:4:17', 'must not be an empty list'],
  ['merge-into-self.yaml', 'merge-into-self.yaml:4:26', 'cannot be merged into itself'],
  ['merge-into-two-targets.yaml', 'merge-into-two-targets.yaml:6:17', 'profile lead-1 is also merged into cust-1'],
  ['missing-distinct-id.yaml', 'missing-distinct-id.yaml:3:5', 'missing required key "distinct_id"'],
  ['missing-version.yaml', 'missing-version.yaml:1:1', 'missing required key "version"'],
  ['multiple-documents.yaml', 'multiple-documents.yaml:4:1', 'more than one YAML document'],
  ['name-256-characters.yaml', 'name-256-characters.yaml:4:11', 'name: is 256 characters long; at most 255 are allowed'],
  ['not-a-mapping.yaml', 'not-a-mapping.yaml:1:1', 'must be a mapping, not a list'],
  ['null-name.yaml', 'null-name.yaml:4:10', 'must be a string, not null'],
  ['once-without-value.yaml', 'once-without-value.yaml:5:28', 'properties.first_seen.$once: must be'],
  ['phone-unquoted.yaml', 'phone-unquoted.yaml:5:12', 'not a number (put the value in quotes)'],
  ['profiles-not-a-list.yaml', 'profiles-not-a-list.yaml:3:3', 'profiles: must be a list, not a mapping'],
  ['property-256-characters.yaml', 'property-256-characters.yaml:5:12', 'properties.bio: is 256 characters long'],
  ['protected-and-absent.yaml', 'protected-and-absent.yaml:4:12', 'a protected profile is never deleted'],
  ['reserved-property.yaml', 'reserved-property.yaml:5:7', 'keys starting with fyno_sync'],
  ['syntax-bad-indent.yaml', 'syntax-bad-indent.yaml:4:1', 'YAML syntax error'],
  ['syntax-stray-bracket.yaml', 'syntax-stray-bracket.yaml:5:3', 'YAML syntax error'],
  // Where the bracket and the quote opened, not where the file ends (issue #14).
  ['syntax-unclosed-flow.yaml', 'syntax-unclosed-flow.yaml:4:15', 'YAML syntax error: this "{" is never closed (the file reaches line 5, column 1 without its "}")'],
  ['syntax-unclosed-quote.yaml', 'syntax-unclosed-quote.yaml:4:11', 'the double-quoted string that starts here is never closed'],
  ['tabs.yaml', 'tabs.yaml:4:1', 'tabs are not allowed as indentation'],
  ['unknown-channel.yaml', 'unknown-channel.yaml:5:7', 'unknown key "emial" (did you mean "email"?)'],
  ['unknown-profile-key.yaml', 'unknown-profile-key.yaml:4:5', 'unknown key "nmae" (did you mean "name"?)'],
  ['unknown-top-level-key.yaml', 'unknown-top-level-key.yaml:3:1', 'unknown key "defualts" (did you mean "defaults"?)'],
  ['unresolved-alias.yaml', 'unresolved-alias.yaml:4:11', 'Unresolved alias'],
  ['unset-variable.yaml', 'unset-variable.yaml:5:14', 'environment variable FYNO_SYNC_TEST_UNSET_EMAIL is not set'],
  ['whitespace-only.yaml', 'whitespace-only.yaml:1:1', 'file is empty'],
  ['wrong-type-boolean-in-list.yaml', 'wrong-type-boolean-in-list.yaml:5:19', 'must be a string or a number, not a boolean'],
  ['wrong-type-channels.yaml', 'wrong-type-channels.yaml:4:15', 'channels: must be a mapping, not a list'],
  ['wrong-type-distinct-id.yaml', 'wrong-type-distinct-id.yaml:3:18', 'must be a string, not a number'],
  ['wrong-type-name.yaml', 'wrong-type-name.yaml:4:11', 'name: must be a string, not a number'],
  ['wrong-type-property-mapping.yaml', 'wrong-type-property-mapping.yaml:5:16', 'or { $once: value }, not a mapping'],
  ['wrong-type-status.yaml', 'wrong-type-status.yaml:4:13', 'must be one of active, inactive, not "enabled"'],
  ['wrong-version.yaml', 'wrong-version.yaml:1:10', 'version: must be 1, not 2'],
];

describe('validate: the broken-input corpus', () => {
  it('has an expectation for every fixture, and at least 40 of them', () => {
    const entries = readdirSync(BROKEN).sort();
    expect(CASES.map((c) => c[0]).sort()).toEqual(entries);
    expect(entries.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)('%s fails at %s', async (entry, where, phrase) => {
    const r = await run(['validate', entry], BROKEN);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    const hit = lines.find((l) => l.startsWith(`${where}: `));
    expect(hit, r.stderr).toBeDefined();
    expect(hit).toContain(phrase);
    expect(lines.at(-1)).toMatch(/^\d+ errors? in \d+ files?; the desired state is not valid$/);
    expectNoStackTrace(r.stderr);
  });

  it.each(CASES)('%s fails with one JSON document under --json', async (entry, where) => {
    const r = await run(['validate', '--json', entry], BROKEN);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { status: string; error: { issues: { file: string; line: number; column: number; message: string }[] } };
    expect(doc.status).toBe('error');
    expect(doc.error.issues.map((i) => `${i.file}:${i.line}:${i.column}`)).toContain(where);
  });

  it('refuses a 50 MB file without reading it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fyno-big-'));
    try {
      const chunk = `  - distinct_id: cust-x\n    name: ${'x'.repeat(200)}\n`;
      const text = `version: 1\nprofiles:\n${chunk.repeat(Math.ceil((50 * 1024 * 1024) / chunk.length))}`;
      await writeFile(path.join(dir, 'huge.yaml'), text.slice(0, 50 * 1024 * 1024));
      const r = await run(['validate', 'huge.yaml'], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('huge.yaml:1:1: file is 50 MB, larger than the 20 MB limit (raise it with --max-file-size)');
      expectNoStackTrace(r.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a path that does not exist', async () => {
    const r = await run(['validate', 'no-such-dir/'], BROKEN);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-dir/: no such file or directory');
  });

  it('reports the errors of all broken files in one run', async () => {
    const r = await run(['validate', '.'], BROKEN);
    expect(r.code).toBe(1);
    // Ids repeat across the corpus, so cross-file findings differ here; every file is still named.
    const named = new Set(r.stderr.split('\n').map((l) => l.split(':')[0]));
    for (const [, where] of CASES) expect(named).toContain(where.split(':')[0]);
    expectNoStackTrace(r.stderr);
  });
});
