import type { Command } from 'commander';
import type { CommandContext } from '../main.js';
import { registerEmulator } from './emulator.js';
import { registerImport } from './import.js';
import { registerValidate } from './validate.js';

/** Each command lives in its own file and registers itself here. */
export function registerCommands(program: Command, ctx: CommandContext): void {
  void program;
  void ctx;
  registerEmulator(program, ctx);
  registerImport(program, ctx);
  registerValidate(program, ctx);
}
