import { Command, CommanderError } from 'commander';
import { isFynoSyncError, messageOf } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { errorDetails, writeEnvelope, writeLine, type CliIO, type JsonError } from './output.js';
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
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const program = new Command('fyno-sync')
    .description('Profiles-as-code for Fyno: validate, plan and apply user profiles from YAML.')
    .version(VERSION)
    .option('--debug', 'show stack traces for internal errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      // Under --json nothing but the JSON document is written: a usage error is the document on
      // stdout (below), not commander's text and usage hint (its outputError writes through here).
      writeErr: (s) => void (json ? undefined : io.stderr.write(s)),
      // A fixed width keeps help identical everywhere (docs/cli.md is generated from it).
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
    });
  registerCommands(program, ctx);
  // The command being run, for the envelope; also when parsing it failed.
  let command = program.commands.find((c) => c.name() === argv.find((a) => !a.startsWith('-')))?.name();
  program.hook('preAction', (_program, action) => void (command = action.name()));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed help, the version, or (without --json) its own one-line usage error.
      if (e.exitCode !== 0 && json && !isHelpOrVersion(e)) {
        writeEnvelope(io.stdout, command, 'error', {}, { code: 'config.invalid', message: e.message.replace(/^error: /, '') });
      }
      return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    reportError(e, io, { json, debug, command });
    return EXIT.error;
  }
  return exitCode;
}

function isHelpOrVersion(e: CommanderError): boolean {
  return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version';
}

/** `error` of the envelope for anything a command threw. */
export function jsonError(e: unknown): JsonError {
  if (isFynoSyncError(e)) {
    const { issues, ...rest } = e.details;
    return { code: e.code, message: e.message, ...errorDetails(rest), ...(Array.isArray(issues) ? { issues } : {}) };
  }
  return { code: 'internal', message: oneLine(messageOf(e)) };
}

export function reportError(e: unknown, io: CliIO, o: { json: boolean; debug: boolean; command?: string | undefined }): void {
  if (o.json) {
    writeEnvelope(io.stdout, o.command, 'error', {}, jsonError(e));
    return;
  }
  if (isFynoSyncError(e)) {
    writeLine(io.stderr, `Error: ${e.message}`);
    if (o.debug && e.code === 'internal' && e.stack) writeLine(io.stderr, e.stack);
    return;
  }
  const message = messageOf(e);
  writeLine(io.stderr, `Internal error: ${oneLine(message)} (please report this; run with --debug for details)`);
  if (o.debug && e instanceof Error && e.stack) writeLine(io.stderr, e.stack);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
