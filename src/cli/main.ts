import { Command, CommanderError } from 'commander';
import { isFynoSyncError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { writeJson, writeLine, type CliIO } from './output.js';
import { registerCommands } from './commands/index.js';

export interface CommandContext {
  io: CliIO;
  /** Commands report their outcome here; `main` returns it. */
  setExitCode(code: number): void;
}

const VERSION = '0.1.0';

/**
 * The whole CLI as a function: argv in, exit code out, all output through `io`.
 * Errors thrown by commands become one line on stderr (or a JSON envelope on stdout with --json).
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  const ctx: CommandContext = { io, setExitCode: (c) => (exitCode = c) };
  const program = new Command('fyno-sync')
    .description('Profiles-as-code for Fyno: validate, plan and apply user profiles from YAML.')
    .version(VERSION)
    .option('--debug', 'show stack traces for internal errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // A fixed width keeps help identical everywhere (docs/cli.md is generated from it).
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
    });
  registerCommands(program, ctx);

  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed help, the version, or its own one-line usage error.
      return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    reportError(e, io, { json, debug });
    return EXIT.error;
  }
  return exitCode;
}

export function reportError(e: unknown, io: CliIO, o: { json: boolean; debug: boolean }): void {
  if (isFynoSyncError(e)) {
    if (o.json) {
      writeJson(io.stdout, { status: 'error', error: { code: e.code, message: e.message, ...e.details } });
    } else {
      writeLine(io.stderr, `Error: ${e.message}`);
      if (o.debug && e.code === 'internal' && e.stack) writeLine(io.stderr, e.stack);
    }
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (o.json) {
    writeJson(io.stdout, { status: 'error', error: { code: 'internal', message } });
  } else {
    writeLine(io.stderr, `Internal error: ${oneLine(message)} (please report this; run with --debug for details)`);
    if (o.debug && e instanceof Error && e.stack) writeLine(io.stderr, e.stack);
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
