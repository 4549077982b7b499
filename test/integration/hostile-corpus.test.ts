/**
 * Issue #14, "Done when": a corpus of hostile and tricky inputs, each run through `validate` and
 * `plan` (the real CLI) against the HTTP emulator. A hostile input exits 1 with one line naming
 * file:line and the field, no stack trace, and the emulator records zero requests; the valid
 * tricky files are accepted and round-trip unchanged through apply → pull.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, resetStats, runCli, startSeeded, stats, tempDir } from '../cli/harness.js';
import { roundTrip } from './integrity-support.js';

interface Hostile {
  name: string;
  /** The file's content, or how to make it (a pipe, a link). */
  text?: string | Buffer;
  make?: (file: string) => Promise<void>;
  /** The line the one issue names (0: a path-level problem, named by file only). */
  line: number;
  /** The field the issue names, when it is about one. */
  field?: string;
  /** A phrase of its message. */
  phrase: string;
  /** Environment for `${VAR}` cases. */
  env?: Record<string, string>;
}

const H = 'version: 1\nprofiles:\n  - distinct_id: u1\n';
/** One property `x` on line 5. */
const prop = (v: string): string => `${H}    properties:\n      x: ${v}\n`;
/** One field of the profile on line 4. */
const field = (k: string, v: string): string => `${H}    ${k}: ${v}\n`;
/** The distinct_id on line 3. */
const id = (v: string): string => `version: 1\nprofiles:\n  - distinct_id: ${v}\n`;

const CASES: Hostile[] = [];
const add = (c: Hostile): void => void CASES.push(c);

// Prototype keys.
add({ name: 'proto-flow', text: `${H}    properties: { __proto__: x, plan: gold }\n`, line: 4, field: 'properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-block', text: prop('1').replace('x: 1', '__proto__: 1'), line: 5, field: 'properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-quoted', text: prop('1').replace('x: 1', '"__proto__": [a]'), line: 5, field: 'properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-defaults', text: `version: 1\ndefaults:\n  properties: { __proto__: 1 }\nprofiles: []\n`, line: 3, field: 'defaults.properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-env', text: prop('1').replace('x: 1', '__proto__: "${V}"'), env: { V: 'v' }, line: 5, field: 'properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-once', text: prop('1').replace('x: 1', '__proto__: { $once: 1 }'), line: 5, field: 'properties.__proto__', phrase: '"__proto__" cannot be used' });
add({ name: 'proto-profile-key', text: field('__proto__', '{ a: 1 }'), line: 4, field: '__proto__', phrase: 'unknown key "__proto__"' });
add({ name: 'proto-channel-key', text: field('channels', '{ __proto__: x }'), line: 4, field: 'channels.__proto__', phrase: 'unknown key "__proto__"' });
add({ name: 'proto-topic', text: field('preferences', '{ __proto__: { sms: opted-in } }'), line: 4, field: 'preferences.__proto__', phrase: 'is not a topic id' });
add({ name: 'proto-pref-channel', text: field('preferences', '{ all: { __proto__: opted-in } }'), line: 4, field: 'preferences.all.__proto__', phrase: 'unknown key "__proto__"' });

// Numbers a double does not hold as written.
for (const [n, v] of [
  ['big-int', '12345678901234567890'],
  ['big-negative', '-98765432109876543210'],
  ['max-safe-plus-two', '9007199254740993'],
  ['many-digits', '0.1000000000000000055511151231257827'],
  ['tiny', '1e-400'],
  ['huge-exponent', '1e400'],
  ['negative-huge', '-1e400'],
  ['inf', '.inf'],
  ['neg-inf', '-.inf'],
  ['inf-caps', '.INF'],
  ['nan', '.nan'],
  ['nan-mixed', '.NaN'],
  ['big-hex', '0xFFFFFFFFFFFFFFFFFF'],
] as const) {
  add({ name: `number-${n}`, text: prop(v), line: 5, field: 'properties.x', phrase: 'quote it to keep it as a string' });
}
add({ name: 'number-in-list', text: prop('[1, 12345678901234567890]'), line: 5, field: 'properties.x[1]', phrase: 'cannot be held exactly' });
add({ name: 'number-in-once', text: prop('{ $once: 12345678901234567890 }'), line: 5, field: 'properties.x.$once', phrase: 'cannot be held exactly' });
add({ name: 'number-in-defaults', text: 'version: 1\ndefaults:\n  properties: { n: 12345678901234567890 }\nprofiles: []\n', line: 3, field: 'defaults.properties.n', phrase: 'cannot be held exactly' });
add({ name: 'number-version', text: 'version: 1.0000000000000000000001\nprofiles: []\n', line: 1, field: 'version', phrase: 'cannot be held exactly' });
add({ name: 'number-id', text: id('12345678901234567890'), line: 3, field: 'distinct_id', phrase: 'cannot be held exactly' });

// Strings that are not well-formed Unicode.
for (const [n, text, f] of [
  ['name-high', field('name', '"a\\uD800b"'), 'name'],
  ['name-low', field('name', '"\\uDC00"'), 'name'],
  ['name-reversed-pair', field('name', '"\\uDC00\\uD800"'), 'name'],
  ['property', prop('"x\\uDBFF"'), 'properties.x'],
  ['list-item', prop('["ok", "\\uDFFF"]'), 'properties.x[1]'],
  ['once', prop('{ $once: "\\uD83D" }'), 'properties.x.$once'],
  ['email', field('channels', '{ email: "a\\uD800@example.com" }'), 'channels.email'],
  ['slack', field('channels', '{ slack: "U\\uD800" }'), 'channels.slack'],
  ['token', field('channels', '{ push: [{ token: "t\\uD800" }] }'), 'channels.push[0].token'],
  ['integration', field('channels', '{ push: [{ token: t, integration_id: "I\\uDC01" }] }'), 'channels.push[0].integration_id'],
  ['merge-from', field('merge_from', '["m\\uD800"]'), 'merge_from[0]'],
  ['single-quoted-escape-free', field('name', "'plain' ").replace("'plain' ", '"\\uD834"'), 'name'],
] as const) {
  add({ name: `surrogate-${n}`, text, line: 4 + (f.startsWith('properties') ? 1 : 0), field: f, phrase: 'lone surrogate' });
}
add({ name: 'surrogate-id', text: id('"\\uD800"'), line: 3, field: 'distinct_id', phrase: 'lone surrogate' });
add({ name: 'surrogate-env', text: field('name', '"${V}"'), env: { V: 'x\uD800' }, line: 4, field: 'name', phrase: 'lone surrogate' });

// Control characters in ids.
for (const [n, esc, code] of [
  ['nul', '\\0', '0000'],
  ['bell', '\\a', '0007'],
  ['backspace', '\\b', '0008'],
  ['tab', '\\t', '0009'],
  ['newline', '\\n', '000A'],
  ['vtab', '\\v', '000B'],
  ['formfeed', '\\f', '000C'],
  ['return', '\\r', '000D'],
  ['escape', '\\e', '001B'],
  ['unit-separator', '\\x1f', '001F'],
  ['delete', '\\x7f', '007F'],
  ['c1-pad', '\\x80', '0080'],
  ['next-line', '\\N', '0085'],
  ['c1-apc', '\\x9f', '009F'],
  ['line-separator', '\\L', '2028'],
  ['paragraph-separator', '\\P', '2029'],
  ['rtl-override', '\\u202E', '202E'],
  ['lri-isolate', '\\u2066', '2066'],
] as const) {
  add({ name: `control-id-${n}`, text: id(`"a${esc}b"`), line: 3, field: 'distinct_id', phrase: `control character U+${code}` });
}
add({ name: 'control-merge-from', text: field('merge_from', '"x\\ey"'), line: 4, field: 'merge_from', phrase: 'control character U+001B' });
add({ name: 'control-merge-list', text: field('merge_from', '[ok, "x\\0y"]'), line: 4, field: 'merge_from[1]', phrase: 'control character U+0000' });

// Ids that are not path segments, or not ids.
for (const [n, v, phrase] of [
  ['dot', '"."', 'URL paths drop'],
  ['dotdot', '..', 'URL paths drop'],
  ['slash', 'a/b', 'without "/"'],
  ['lone-slash', '"/"', 'without "/"'],
  ['leading-space', '" a"', 'leading or trailing spaces'],
  ['trailing-space', '"a "', 'leading or trailing spaces'],
  ['empty', '""', 'must not be empty'],
  ['too-long', 'x'.repeat(256), 'at most 255'],
  ['number', '42', 'must be a string, not a number'],
  ['boolean', 'true', 'must be a string, not a boolean'],
  ['null', 'null', 'must be a string, not null'],
  ['list', '[a]', 'must be a string, not a list'],
] as const) {
  add({ name: `id-${n}`, text: id(v), line: 3, field: 'distinct_id', phrase });
}
add({ name: 'id-merge-dotdot', text: field('merge_from', '[..]'), line: 4, field: 'merge_from[0]', phrase: 'URL paths drop' });
add({ name: 'id-merge-dot', text: field('merge_from', '"."'), line: 4, field: 'merge_from', phrase: 'URL paths drop' });

// Depth.
add({ name: 'deep-brackets', text: prop('['.repeat(20_000)), line: 5, phrase: 'nesting deeper than 64 levels at line 5' });
add({ name: 'deep-braces', text: prop('{a: '.repeat(20_000)), line: 5, phrase: 'nesting deeper than 64 levels at line 5' });
add({ name: 'deep-closed', text: prop(`${'['.repeat(100)}${']'.repeat(100)}`), line: 5, phrase: 'nesting deeper than 64 levels at line 5' });
add({ name: 'deep-block', text: `version: 1\nprofiles:\n${Array.from({ length: 70 }, (_, d) => `${' '.repeat(2 + d)}k${d}:\n`).join('')}`, line: 66, phrase: 'nesting deeper than 64 levels at line 66' });
add({ name: 'deep-dashes', text: `version: 1\nprofiles:\n  ${'- '.repeat(80)}x\n`, line: 3, phrase: 'nesting deeper than 64 levels at line 3' });

// Syntax.
add({ name: 'syntax-unclosed-bracket', text: prop('[a, b'), line: 5, phrase: 'this "[" is never closed' });
add({ name: 'syntax-unclosed-brace', text: prop('{a: b'), line: 5, phrase: 'this "{" is never closed' });
add({ name: 'syntax-unclosed-double', text: `${H}    name: "Priya\n    status: active\n`, line: 4, phrase: 'double-quoted string that starts here is never closed' });
add({ name: 'syntax-unclosed-single', text: `${H}    name: 'Priya\n`, line: 4, phrase: 'single-quoted string that starts here is never closed' });
add({ name: 'syntax-stray-bracket', text: prop('[a]]'), line: 5, phrase: 'YAML syntax error' });
add({ name: 'syntax-bad-indent', text: `${H}      name: x\n    status: active\n`, line: 3, phrase: 'Nested mappings are not allowed' });
add({ name: 'syntax-tab-indent', text: `${H}\tname: x\n`, line: 4, phrase: 'tabs are not allowed' });
add({ name: 'duplicate-top-key', text: 'version: 1\nversion: 1\nprofiles: []\n', line: 2, phrase: 'this key appears twice' });
add({ name: 'duplicate-profile-key', text: `${H}    name: a\n    name: b\n`, line: 5, phrase: 'this key appears twice' });
add({ name: 'duplicate-property-key', text: `${H}    properties: { a: 1, a: 2 }\n`, line: 4, phrase: 'this key appears twice' });
add({ name: 'duplicate-id', text: `${H}  - distinct_id: u1\n`, line: 4, field: 'distinct_id', phrase: 'declared twice' });
add({ name: 'multiple-documents', text: `${H}---\n${H}`, line: 4, phrase: 'more than one YAML document' });
add({ name: 'unresolved-alias', text: field('name', '*nowhere'), line: 4, phrase: 'Unresolved alias' });
add({
  name: 'billion-laughs',
  text: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nversion: 1\nprofiles: [*d]\n`,
  line: 1,
  phrase: 'YAML error',
});
add({ name: 'alias-bomb-properties', text: `x: &x [a, b, c, d, e, f, g, h, i, j]\ny: &y [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\nversion: 1\nprofiles:\n  - distinct_id: u1\n    properties: { l: [*y, *y, *y, *y, *y, *y, *y, *y, *y, *y, *y] }\n`, line: 1, phrase: 'YAML error' });
add({ name: 'merge-key', text: `${H}    <<: { name: x }\n`, line: 4, phrase: 'unknown key "<<"' });
add({ name: 'tag-binary', text: field('name', '!!binary aGVsbG8='), line: 4, field: 'name', phrase: 'must be a string' });
add({ name: 'explicit-key-mapping', text: `${H}    ? [a]\n    : b\n`, line: 3, phrase: 'unknown key "[ a ]"' });

// Files and encodings.
add({ name: 'empty', text: '', line: 1, phrase: 'file is empty' });
add({ name: 'whitespace-only', text: '  \n\n   \n', line: 1, phrase: 'file is empty' });
add({ name: 'comments-only', text: '# nothing\n# here\n', line: 1, phrase: 'no YAML content' });
add({ name: 'bom-only', text: '\uFEFF', line: 1, phrase: '' });
add({ name: 'bom-with-error', text: `\uFEFF${field('name', '12')}`, line: 4, field: 'name', phrase: 'must be a string, not a number' });
add({ name: 'crlf-with-error', text: field('status', 'enabled').replace(/\n/g, '\r\n'), line: 4, field: 'status', phrase: 'must be one of active, inactive' });
add({ name: 'crlf-surrogate', text: field('name', '"\\uD800"').replace(/\n/g, '\r\n'), line: 4, field: 'name', phrase: 'lone surrogate' });
add({ name: 'binary-nul', text: Buffer.from([0x76, 0x65, 0x72, 0x0a, 0x00, 0x01, 0x02]), line: 2, phrase: 'file is binary' });
add({ name: 'binary-png', text: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]), line: 3, phrase: 'file is binary' });
add({ name: 'invalid-utf8', text: Buffer.concat([Buffer.from(`${H}    name: "Jos`), Buffer.from([0xe9, 0x22, 0x0a])]), line: 4, phrase: 'not valid UTF-8' });
add({ name: 'latin1', text: Buffer.from('version: 1\nprofiles:\n  - distinct_id: u1\n    name: Andr\xe9\n', 'latin1'), line: 4, phrase: 'not valid UTF-8' });
add({ name: 'utf16', text: Buffer.from('\uFEFFversion: 1\n', 'utf16le'), line: 1, phrase: 'file is binary' });
add({ name: 'string-10mb', text: field('name', 'x'.repeat(10 * 1024 * 1024)), line: 4, field: 'name', phrase: 'at most 255' });
add({ name: 'property-10mb', text: prop(`"${'y'.repeat(10 * 1024 * 1024)}"`), line: 5, field: 'properties.x', phrase: 'at most 255' });
add({ name: 'named-pipe', make: async (f) => void execFileSync('mkfifo', [f]), line: 0, phrase: 'not a regular file' });
add({ name: 'device', make: (f) => symlink('/dev/zero', f), line: 0, phrase: 'not a regular file' });
add({ name: 'dangling-link', make: (f) => symlink('nowhere.yaml', f), line: 0, phrase: 'no such file or directory' });
add({ name: 'self-link', make: (f) => symlink(path.basename(f), f), line: 0, phrase: 'cannot read (ELOOP)' });
add({ name: 'empty-directory', make: (f) => mkdir(f), line: 0, phrase: 'directory contains no .yaml or .yml files' });

// Dates and values.
for (const [n, v] of [
  ['feb-30', '2024-02-30'],
  ['feb-29-non-leap', '2023-02-29'],
  ['month-13', '2024-13-01'],
  ['month-0', '2024-00-10'],
  ['day-32', '2024-01-32'],
  ['hour-24', '"2024-01-01T24:00:00Z"'],
  ['minute-60', '"2024-01-01T10:60:00Z"'],
  ['no-zone', '"2024-01-01T10:00:00"'],
  ['short-form', '2024-1-1'],
  ['space-time-no-zone', '"2024-01-01 10:00:00"'],
] as const) {
  add({ name: `date-${n}`, text: prop(v), line: 5, field: 'properties.x', phrase: 'date' });
}
add({ name: 'date-in-list', text: prop('[2024-01-01, 2024-02-30]'), line: 5, field: 'properties.x[1]', phrase: 'is not a valid date' });
add({ name: 'list-duplicate', text: prop('[a, a]'), line: 5, field: 'properties.x[1]', phrase: 'listed twice' });
add({ name: 'list-same-instant', text: prop('["2024-01-01", "2024-01-01T00:00:00Z"]'), line: 5, field: 'properties.x[1]', phrase: 'listed twice' });
add({ name: 'string-256', text: prop('x'.repeat(256)), line: 5, field: 'properties.x', phrase: 'at most 255' });
add({ name: 'nested-mapping', text: prop('{ a: 1 }'), line: 5, field: 'properties.x', phrase: 'not a mapping' });
add({ name: 'nested-list', text: prop('[[1]]'), line: 5, field: 'properties.x[0]', phrase: 'must be a string or a number' });
add({ name: 'boolean-in-list', text: prop('[true]'), line: 5, field: 'properties.x[0]', phrase: 'not a boolean' });
add({ name: 'bad-key-space', text: prop('1').replace('x: 1', '"a b": 1'), line: 5, field: 'properties.a b', phrase: 'is not a valid property key' });
add({ name: 'reserved-key', text: prop('1').replace('x: 1', 'fyno_sync_x: 1'), line: 5, field: 'properties.fyno_sync_x', phrase: 'reserved' });
add({ name: 'unset-variable', text: field('name', '"${FYNO_SYNC_NOT_SET_EVER}"'), line: 4, field: 'name', phrase: 'is not set' });
add({ name: 'malformed-variable', text: field('name', '"${not closed"'), line: 4, field: 'name', phrase: 'malformed variable reference' });
add({ name: 'id-from-env', text: id('"${V}"'), env: { V: 'u9' }, line: 3, field: 'distinct_id', phrase: 'must not come from an environment variable' });

// Schema.
add({ name: 'unknown-top-key', text: `${H}defualts: {}\n`, line: 4, field: 'defualts', phrase: 'did you mean "defaults"' });
add({ name: 'unknown-profile-key', text: field('nmae', 'x'), line: 4, field: 'nmae', phrase: 'did you mean "name"' });
add({ name: 'unknown-channel', text: field('channels', '{ fax: x }'), line: 4, field: 'channels.fax', phrase: 'unknown key "fax"' });
add({ name: 'bad-email', text: field('channels', '{ email: not-an-email }'), line: 4, field: 'channels.email', phrase: 'is not a valid email address' });
add({ name: 'bad-email-spaces', text: field('channels', '{ email: "a b@example.com" }'), line: 4, field: 'channels.email', phrase: 'is not a valid email address' });
add({ name: 'bad-phone', text: field('channels', '{ sms: "+1 555" }'), line: 4, field: 'channels.sms', phrase: 'not a valid phone number' });
add({ name: 'phone-unquoted', text: field('channels', '{ sms: 919812345678 }'), line: 4, field: 'channels.sms', phrase: 'put the value in quotes' });
add({ name: 'bad-timezone', text: field('timezone', 'Mars/Olympus'), line: 4, field: 'timezone', phrase: 'is not an IANA timezone name' });
add({ name: 'bad-status', text: field('status', 'enabled'), line: 4, field: 'status', phrase: 'must be one of active, inactive' });
add({ name: 'bad-preference', text: field('preferences', '{ all: { sms: off } }'), line: 4, field: 'preferences.all.sms', phrase: 'must be one of opted-in, opted-out' });
add({ name: 'empty-preference', text: field('preferences', '{ all: {} }'), line: 4, field: 'preferences.all', phrase: 'must not be empty' });
add({ name: 'bad-topic', text: field('preferences', '{ "bad topic": { sms: opted-in } }'), line: 4, field: 'preferences.bad topic', phrase: 'is not a topic id' });
add({ name: 'token-twice', text: field('channels', '{ push: [{ token: a }, { token: a }] }'), line: 4, field: 'channels.push[1]', phrase: 'listed twice' });
add({ name: 'token-empty', text: field('channels', '{ push: [{ token: "" }] }'), line: 4, field: 'channels.push[0].token', phrase: 'must not be empty' });
add({ name: 'wrong-version', text: 'version: 2\nprofiles: []\n', line: 1, field: 'version', phrase: 'must be 1' });
add({ name: 'missing-version', text: 'profiles: []\n', line: 1, phrase: 'missing required key "version"' });
add({ name: 'profiles-mapping', text: 'version: 1\nprofiles: { a: 1 }\n', line: 2, field: 'profiles', phrase: 'must be a list' });
add({ name: 'root-list', text: '- version: 1\n', line: 1, phrase: 'must be a mapping, not a list' });
add({ name: 'root-scalar', text: 'just text\n', line: 1, phrase: 'must be a mapping' });
add({ name: 'absent-with-keys', text: `${H}    state: absent\n    name: x\n`, line: 5, field: 'name', phrase: 'takes no other keys' });
add({ name: 'protected-absent', text: `${H}    state: absent\n    protected: true\n`, line: 4, field: 'state', phrase: 'a protected profile is never deleted' });
add({ name: 'merge-into-self', text: field('merge_from', '[u1]'), line: 4, field: 'merge_from', phrase: 'cannot be merged into itself' });
add({ name: 'merge-empty-list', text: field('merge_from', '[]'), line: 4, field: 'merge_from', phrase: 'must not be an empty list' });
add({ name: 'merge-twice', text: field('merge_from', '[m, m]'), line: 4, field: 'merge_from[1]', phrase: 'listed twice' });
add({ name: 'name-null', text: field('name', 'null'), line: 4, field: 'name', phrase: 'must be a string, not null' });
add({ name: 'once-mapping-extra', text: prop('{ $once: 1, b: 2 }'), line: 5, field: 'properties.x', phrase: '' });

// Values that changed or vanished on the way (hostile review of value fidelity).
add({ name: 'length-emoji-name', text: field('name', `"${'😀'.repeat(128)}"`), line: 4, field: 'name', phrase: 'is 256 characters long (UTF-16 code units' });
add({ name: 'length-emoji-property', text: prop(`"${'😀'.repeat(128)}"`), line: 5, field: 'properties.x', phrase: 'is 256 characters long (UTF-16 code units' });
add({ name: 'leading-zero', text: prop('01234'), line: 5, field: 'properties.x', phrase: 'quote it to keep it as a string: "01234"' });
add({ name: 'leading-zero-list', text: prop('[10, 02139]'), line: 5, field: 'properties.x[1]', phrase: 'is read as the number 2139' });
add({ name: 'phone-extension', text: field('channels', '{ sms: "+1 415 555 0123 ext. 5" }'), line: 4, field: 'channels.sms', phrase: 'has an extension' });
add({ name: 'phone-words', text: field('channels', '{ whatsapp: "+1 415 555 0123 (home)" }'), line: 4, field: 'channels.whatsapp', phrase: 'holds text besides the number' });
add({ name: 'empty-channel', text: `${H}    channels:\n      push:\n        # - { token: t }\n`, line: 5, field: 'channels.push', phrase: 'has no value' });
add({ name: 'unknown-tag', text: field('name', '!secret db_name'), line: 4, field: 'name', phrase: 'the YAML tag !secret is not one fyno-sync reads' });
add({ name: 'blank-slack', text: field('channels', '{ slack: "   " }'), line: 4, field: 'channels.slack', phrase: 'is only white space' });
add({ name: 'empty-property-flow', text: field('properties', '{ a: 1, b }'), line: 4, field: 'properties.b', phrase: 'write null to do that' });

/** Valid tricky files: accepted, applied, planned to nothing, pulled back unchanged. */
const VALID: { name: string; text: string }[] = [
  {
    name: 'unicode.yaml',
    text: `version: 1
profiles:
  - distinct_id: "ünï-cødé 山田"
    name: "Zoë Ångström 山田太郎 😀"
    channels: { email: "priya+news@example.com" }
    properties: { city: "São Paulo", note: "tab\\there", emoji: "👩‍👩‍👧", rtl: "مرحبا" }
`,
  },
  {
    name: 'numbers.yaml',
    text: `version: 1
profiles:
  - distinct_id: n-1
    properties:
      quoted_big: "12345678901234567890"
      pow60: 1152921504606846976
      tenth: 0.1
      negative: -42.5
      exponent: 1e21
      zero: 0
      max_safe: 9007199254740991
      hex: 0x1F
      ids: ["00123", "12345678901234567890", 7]
`,
  },
  { name: 'bom.yaml', text: '\uFEFFversion: 1\nprofiles:\n  - distinct_id: bom-1\n    name: With BOM\n' },
  { name: 'crlf.yaml', text: 'version: 1\r\nprofiles:\r\n  - distinct_id: crlf-1\r\n    name: "Windows\tline ends"\r\n    properties: { d: 2024-02-29 }\r\n' },
  {
    name: 'odd-ids.yaml',
    text: `version: 1
profiles:
  - distinct_id: "a b?c#d%e"
    properties: { constructor: x, toString: "2024-03-01T10:00:00+05:30" }
  - distinct_id: "%2e%2E"
    name: '''single'' "double"'
  - distinct_id: "..."
    properties: { escaped: "$\${NOT_A_VAR}", yes_word: "yes", null_word: "null", colon: "a: b #c" }
`,
  },
];

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  emu = await startSeeded();
  tmp = await tempDir('fyno-hostile-');
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

function expectOneIssue(out: string, c: Hostile, file: string): void {
  expect(out).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(out).not.toMatch(/Internal error|TypeError|ReferenceError|RangeError|Maximum call stack/);
  const issues = out.split('\n').filter((l) => l.startsWith(`${file}:`));
  expect(issues, out.slice(0, 2000)).toHaveLength(1);
  const line = issues[0]!;
  expect(line.startsWith(c.line > 0 ? `${file}:${c.line}:` : `${file}: `), line).toBe(true);
  if (c.field) expect(line, line).toContain(c.field);
  expect(line).toContain(c.phrase);
}

describe('the hostile corpus', () => {
  it('holds at least 120 inputs with distinct names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(120);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES)('$name: validate and plan exit 1 with one line naming file:line and field, and send nothing', async (c) => {
    const file = `${c.name}.yaml`;
    const abs = path.join(tmp.dir, file);
    if (c.make) await c.make(abs);
    else await writeFile(abs, c.text!);
    const env = envFor(emu, c.env ?? {});
    await resetStats(emu);
    const v = await runCli(['validate', file], env, { cwd: tmp.dir });
    expect(v.code).toBe(1);
    expectOneIssue(v.stderr, c, file);
    const p = await runCli(['plan', file], env, { cwd: tmp.dir });
    expect(p.code).toBe(1);
    expect(p.stdout).toBe('');
    expectOneIssue(p.stderr, c, file);
    expect(p.stderr).toContain('nothing was sent to Fyno');
    expect((await stats(emu)).total).toBe(0);
  });

  it.each(VALID)('$name is accepted and round-trips through apply → pull', async ({ name, text }) => {
    await writeFile(path.join(tmp.dir, name), text);
    const v = await runCli(['validate', name], envFor(emu), { cwd: tmp.dir });
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    await roundTrip(emu, tmp.dir, `rt-${name}`, text);
  });
});
