/**
 * The end of each command's `--help`: examples and the exit codes (issue #16). Added by
 * `registerCommands` to every command, so docs/cli.md (generated from --help) carries them too.
 */
import type { Command } from 'commander';

const HELP: Record<string, { examples: string[]; exit: string[] }> = {
  validate: {
    examples: ['fyno-sync validate profiles/', "fyno-sync validate 'profiles/**/*.yaml' --json"],
    exit: ['0  valid', '1  not valid: every error on stderr (with --json: error.issues)'],
  },
  plan: {
    examples: [
      'fyno-sync plan profiles/',
      'fyno-sync plan profiles/ --out plan.json        # review it, then: fyno-sync apply --plan plan.json',
      'fyno-sync plan profiles/ --markdown --detailed-exitcode > plan.md',
      "fyno-sync plan profiles/ --target 'cust-*' --json",
    ],
    exit: ['0  planned (with --detailed-exitcode: and there are no changes)', '1  error (bad files, unreachable API, a plan with issues)', '2  changes present (--detailed-exitcode only)'],
  },
  apply: {
    examples: ['fyno-sync apply --plan plan.json', 'fyno-sync apply profiles/ --dry-run', 'fyno-sync apply profiles/ --yes --allow-delete', 'fyno-sync apply --resume'],
    exit: ['0    every operation succeeded and converged (or nothing to do)', '1    error, refused, or any operation failed or did not converge', '130  interrupted (Ctrl-C): completed operations are recorded; apply --resume continues'],
  },
  show: {
    examples: ['fyno-sync show plan.json', 'fyno-sync show plan.json --markdown > comment.md', 'fyno-sync show plan.json --json'],
    exit: ['0  shown', '1  the file is not a plan, or the plan has issues'],
  },
  pull: {
    examples: ['fyno-sync pull cust-1001 cust-1002 -o profiles/', 'fyno-sync pull --ids-file ids.txt -o profiles/ --include-preferences --json'],
    exit: ['0  every profile pulled', '1  error, or an id not found in Fyno'],
  },
  import: {
    examples: ['fyno-sync import contacts.csv --mapping mapping.yaml -o profiles/', 'fyno-sync import export.jsonl -m mapping.yaml -o profiles/ --allow-rejects --json'],
    exit: ['0  imported (with --allow-rejects: even if rows were rejected)', '1  error, or rows rejected'],
  },
  emulator: {
    examples: ['fyno-sync emulator --port 8787', 'fyno-sync emulator --port 0 --latency 20 --fail-rate 0.1 --state emulator.json', 'fyno-sync emulator --port 0 --json   # first line: {"status":"ok","base_url":…}'],
    exit: ['0  stopped by Ctrl-C or SIGTERM', '1  could not start (port in use, bad state file)'],
  },
  demo: {
    examples: ['fyno-sync demo', 'fyno-sync demo my-profiles/ --json'],
    exit: ['0  every step did what it should; the second plan is empty', '1  a step failed'],
  },
};

/** Examples and exit codes after the options of `cmd`'s help. */
export function addHelpFooter(cmd: Command): void {
  const h = HELP[cmd.name()];
  if (!h) return;
  const lines = ['', 'Examples:', ...h.examples.map((e) => `  $ ${e}`), '', 'Exit codes:', ...h.exit.map((e) => `  ${e}`)];
  if (cmd.options.some((o) => o.long === '--json')) lines.push('', 'With --json: one JSON document on stdout, also on errors (docs/json.md).');
  cmd.addHelpText('after', lines.join('\n'));
}
