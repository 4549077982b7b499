import type { Command } from 'commander';
import type { CommandContext } from '../main.js';
import { registerApply } from './apply.js';
import { registerDemo } from './demo.js';
import { registerEmulator } from './emulator.js';
import { registerImport } from './import.js';
import { registerPlan } from './plan.js';
import { registerPull } from './pull.js';
import { registerShow } from './show.js';
import { registerValidate } from './validate.js';
import { addCommonOptions } from './common.js';
import { addHelpFooter } from '../help.js';

/** Each command lives in its own file and registers itself here. */
export function registerCommands(program: Command, ctx: CommandContext): void {
  registerValidate(program, ctx);
  registerPlan(program, ctx);
  registerApply(program, ctx);
  registerShow(program, ctx);
  registerPull(program, ctx);
  registerImport(program, ctx);
  registerEmulator(program, ctx);
  registerDemo(program, ctx);
  // After the others, so that every command has them, whoever registered it (issue #16).
  for (const cmd of program.commands) {
    addCommonOptions(cmd);
    addHelpFooter(cmd);
  }
}
