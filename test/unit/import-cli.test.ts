import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/import/${name}`, import.meta.url));

const run = (argv: string[], cwd: string) => runMain(argv, { cwd });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-import-cli-'));
  await copyFile(fixture('contacts.csv'), path.join(dir, 'contacts.csv'));
  await copyFile(fixture('mapping.yaml'), path.join(dir, 'mapping.yaml'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fyno-sync import', () => {
  it('prints the summary on stdout, each rejected row on stderr, and exits 1 when rows were rejected', async () => {
    const r = await run(['import', 'contacts.csv', '--mapping', 'mapping.yaml', '-o', 'profiles'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Imported 2 profiles into 1 file (5 rows rejected → rejects.csv)\n');
    expect(r.stderr.split('\n')).toEqual([
      'contacts.csv: row 4 (line 4), column "mobile": sms: "12345" is not a valid phone number (read with country IN); whatsapp: "12345" is not a valid phone number (read with country US)',
      'contacts.csv: row 5 (line 5), column "id": duplicate distinct_id "crm-1" (first in row 2, which is kept)',
      'contacts.csv: row 6 (line 6), column "tz": "Mars/Base" is not an IANA timezone name that Fyno accepts',
      'contacts.csv: row 7 (line 8), column "id": distinct_id is empty',
      'contacts.csv: row 8 (line 9): has 3 fields; the header has 18 (a truncated line, or a line break inside an unquoted field?)',
      'Exit status 1 because rows were rejected; fix them and import again, or pass --allow-rejects to accept the import without them.',
      '',
    ]);
    expect((await readdir(dir)).sort()).toEqual(['contacts.csv', 'mapping.yaml', 'profiles', 'rejects.csv']);
    // Tokens never reach the terminal.
    expect(r.stderr + r.stdout).not.toMatch(/tok[ABC]/);
  });

  it('exits 0 with --allow-rejects, and writes shards of --shard-size', async () => {
    const r = await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '-o', 'out', '--allow-rejects', '--shard-size', '1', '--rejects', 'bad.csv'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Imported 2 profiles into 2 files (5 rows rejected → bad.csv)\n');
    expect(await readdir(path.join(dir, 'out'))).toEqual(['profiles-0001.yaml', 'profiles-0002.yaml']);
  });

  it('prints one JSON document with --json', async () => {
    const r = await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '--json'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ status: 'error', command: 'import', error: { code: 'import.rejected' }, rows: 7, profiles: 2, out_dir: 'profiles', files: ['profiles-0001.yaml'], rejected: 5, rejects_file: 'rejects.csv' });
    expect((doc.rejects as unknown[]).length).toBe(5);
  });

  it('a mapping naming missing columns: every one at its mapping line, exit 1, nothing written', async () => {
    await writeFile(path.join(dir, 'bad.yaml'), 'version: 1\ndistinct_id: ID\nchannels:\n  email: e-mail\n');
    const r = await run(['import', 'contacts.csv', '-m', 'bad.yaml'], dir);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'bad.yaml:2:14: distinct_id: column "ID" is not in contacts.csv (did you mean "id"?)\n' +
        'bad.yaml:4:10: channels.email: column "e-mail" is not in contacts.csv (did you mean "email"?)\n' +
        'Error: the mapping names 2 columns not in contacts.csv ("ID", "e-mail"); nothing was written\n',
    });
    expect((await readdir(dir)).sort()).toEqual(['bad.yaml', 'contacts.csv', 'mapping.yaml']);
  });

  it('an invalid mapping file: errors with file:line:column, under --json in the envelope', async () => {
    await writeFile(path.join(dir, 'bad.yaml'), 'version: 1\ndistinct_id: id\nproperties:\n  ltv: { column: ltv, type: money }\n');
    const r = await run(['import', 'contacts.csv', '-m', 'bad.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'bad.yaml:4:29: properties.ltv.type: must be one of "string", "number", "boolean", "date", "list"\nError: 1 error in the mapping bad.yaml; nothing was written\n',
    );
    const j = await run(['import', 'contacts.csv', '-m', 'bad.yaml', '--json'], dir);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'error', error: { code: 'import.invalid', issues: [{ file: 'bad.yaml', line: 4, column: 29 }] } });
  });

  it('missing files and a non-empty output directory are one-line errors, not stack traces', async () => {
    const a = await run(['import', 'nope.csv', '-m', 'mapping.yaml'], dir);
    expect(a).toEqual({ code: 1, stdout: '', stderr: 'Error: cannot read nope.csv: no such file\n' });
    const b = await run(['import', 'contacts.csv', '-m', 'nope.yaml'], dir);
    expect(b).toEqual({ code: 1, stdout: '', stderr: 'Error: cannot read the mapping file nope.yaml\n' });
    await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '--allow-rejects'], dir);
    const c = await run(['import', 'contacts.csv', '-m', 'mapping.yaml'], dir);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^Error: output directory .*profiles is not empty; pass --force to replace it, or choose another with -o\n$/);
    const d = await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '--delimiter', 'x'], dir);
    expect(d.stderr).toBe("Error: --delimiter must be one of , ; | tab, got 'x'\n");
  });

  it('file-system problems are one-line errors too', async () => {
    await writeFile(path.join(dir, 'afile'), '');
    const a = await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '-o', 'afile/out'], dir);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/^Error: cannot use .*afile\/out as the output directory: ENOTDIR[^\n]*\n$/);
    const b = await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '-o', 'out', '--rejects', 'out/rejects.csv'], dir);
    expect(b.stderr).toBe('Error: the rejects file must not be inside the output directory (validate would read it with the profiles)\n');
    expect((await readdir(dir)).sort()).toEqual(['afile', 'contacts.csv', 'mapping.yaml']);
  });

  it('the same import twice gives byte-identical files', async () => {
    await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '-o', 'a', '--rejects', 'a.csv'], dir);
    await run(['import', 'contacts.csv', '-m', 'mapping.yaml', '-o', 'b', '--rejects', 'b.csv'], dir);
    expect(await readFile(path.join(dir, 'b', 'profiles-0001.yaml'))).toEqual(await readFile(path.join(dir, 'a', 'profiles-0001.yaml')));
    expect(await readFile(path.join(dir, 'b.csv'))).toEqual(await readFile(path.join(dir, 'a.csv')));
  });
});
