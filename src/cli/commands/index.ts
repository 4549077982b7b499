import type { Command } from 'commander';
import type { CommandContext } from '../main.js';

/** Each command lives in its own file and registers itself here. */
export function registerCommands(program: Command, ctx: CommandContext): void {
  void program;
  void ctx;
}
