/** Writes docs/cli.md from the CLI's own help (`npm run docs:cli`). */
import { writeFile } from 'node:fs/promises';
import { cliReference } from '../src/cli/reference.js';

await writeFile(new URL('../docs/cli.md', import.meta.url), await cliReference());
