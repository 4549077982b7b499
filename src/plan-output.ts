/**
 * Where the `plan` command's plan goes while live state is still being read (issue #17): each
 * profile's operations, as soon as it is planned, as plan-file lines (beside `--out`, or in
 * TMPDIR for `--json`) and as text output (in TMPDIR), and its JSON Patch to the drift spool.
 * createPlan then keeps none of them (`keepOperations: false`); the plan file, the `--json`
 * document and the text are copied from the scratch files once the plan is complete, byte for
 * byte what the whole-plan renderers give. Markdown, cut to a comment's length, is rendered from
 * the whole plan: its operations are kept (the plan file's lines are still written ahead, and
 * the plan written whole if that falls behind). Never prints; the caller writes the pieces out.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { OperationSpool, planDocument, writePlanFile } from './apply/kept-plan.js';
import type { CreatePlanOptions } from './create-plan.js';
import { openDriftSpool, tmpdirError, type DriftSpool } from './drift-spool.js';
import { FynoSyncError, messageOf } from './errors.js';
import { textRenderer, type RenderTextOptions } from './plan/render/text.js';
import { isSuppressionOp, type Operation, type Plan, type ProfileOperation, type SuppressionOperation } from './plan/types.js';
import { ScratchSpool } from './scratch-spool.js';

export interface PlanOutputOptions {
  /** `--out`: the plan file (absolute). */
  outFile?: string;
  /** How the plan is printed. */
  format: 'text' | 'json' | 'markdown';
  /** How the text is styled (text output only). */
  text?: RenderTextOptions;
}

/** The hooks createPlan takes for a plan written ahead, and how to write it out afterwards. */
export interface PlanOutput {
  /** For createPlan: the drift spool, `keepOperations`, `onOperations` and `pace`. */
  readonly planOptions: Pick<CreatePlanOptions, 'driftSpool' | 'keepOperations' | 'onOperations' | 'pace'>;
  /** Settles once the plan file's scratch file is open: nowhere to save the plan is said before any read. */
  opened(): Promise<void>;
  /** Writes the plan file (`--out`) from the lines written ahead. */
  savePlan(plan: Plan): Promise<void>;
  /** The `--json` document (`serializePlan`'s bytes) from the lines written ahead (format `json`). */
  jsonDocument(plan: Plan): Promise<AsyncIterable<string | Buffer>>;
  /** The text output (`renderText`'s text) from the text written ahead (format `text`). */
  text(plan: Plan): AsyncGenerator<string | Buffer>;
  /** Removes every scratch file. */
  close(): Promise<void>;
}

/** Opens the scratch files a plan needs for `o` (the drift spool's at once: TMPDIR problems come first). */
export function openPlanOutput(o: PlanOutputOptions): PlanOutput {
  const drift: DriftSpool = openDriftSpool();
  const dropped = o.format !== 'markdown';
  // What is let go exists only in its scratch file: never dropped there for falling behind.
  const spool = o.outFile !== undefined ? new OperationSpool(o.outFile, { lossless: dropped }) : o.format === 'json' ? new OperationSpool(scratchName(), { lossless: true }) : undefined;
  const text = o.format === 'text' ? new ScratchSpool(`${scratchName()}.${process.pid}.txt.tmp`, { lossless: true }) : undefined;
  const render = textRenderer(o.text);
  const list: SuppressionOperation[] = [];
  const onOperations = (ops: readonly Operation[]): void => {
    spool?.add(ops);
    if (!text || ops.length === 0) return;
    if (isSuppressionOp(ops[0]!)) list.push(...ops.filter(isSuppressionOp));
    else text.append(render.profile(ops as readonly ProfileOperation[]));
  };
  return {
    planOptions: {
      driftSpool: drift,
      keepOperations: !dropped,
      ...(spool || text ? { onOperations, pace: () => whenBoth(spool?.ready(), text?.ready()) } : {}),
    },
    async opened() {
      if (o.outFile !== undefined && dropped) await spool!.opened(o.outFile);
    },
    async savePlan(plan) {
      if (o.outFile !== undefined) await writePlanFile(o.outFile, plan, spool, { dropped, keepSpool: true });
    },
    async jsonDocument(plan) {
      return planDocument(plan, spool, true).catch((e: unknown) => {
        throw new FynoSyncError('config.invalid', `cannot print the plan: ${messageOf(e)}`);
      });
    },
    async *text(plan) {
      if (!text || !(await text.close())) throw tmpdirError(text?.error);
      yield render.head(plan);
      yield* text.read();
      yield render.tail(plan, list);
    },
    async close() {
      drift.close();
      await spool?.discard();
      await text?.discard();
    },
  };
}

/** A scratch file's name stem in the temporary directory. */
function scratchName(): string {
  return path.join(os.tmpdir(), `fyno-sync-plan-${randomUUID()}`);
}

function whenBoth(a: Promise<void> | undefined, b: Promise<void> | undefined): Promise<void> | undefined {
  return a && b ? Promise.all([a, b]).then(() => undefined) : (a ?? b);
}
