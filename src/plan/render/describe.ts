/**
 * What each operation means, in lines a reviewer reads: shared by the text and Markdown
 * renderers. Secrets never reach a line: push/inapp tokens are shown by their last four
 * characters at most, values from `${VAR}` (and `$secret` placeholders of a parsed plan) as
 * `(sensitive)`.
 */
import { assertNever } from '../../errors.js';
import { CHANNELS, type DistinctId, type Token } from '../../fyno/types.js';
import { groupByProfile, profileAction } from '../build.js';
import { isSecretRef } from '../secrets.js';
import { isSuppressionOp, suppressionName, type Operation, type Plan, type PlanIssue, type PlanSummary, type ProfileAction, type ProfileOperation, type SuppressionOperation } from '../types.js';

export const SENSITIVE = '(sensitive)';

/** `+` adds, `-` removes, `~` changes, `»` merges. */
export type Sign = '+' | '-' | '~' | '»';

export interface Line {
  sign: Sign;
  text: string;
}

/** The summary line, e.g. "Plan: 2 to create, 3 to update, 1 to merge, 0 to delete, 5 unchanged." */
export function summaryLine(s: PlanSummary): string {
  const list = s.suppressions ? ` Suppressions: ${s.suppressions.add} to add, ${s.suppressions.remove} to remove.` : '';
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.merge} to merge, ${s.delete} to delete, ${s.unchanged} unchanged.${list}`;
}

/** The suppression list's operations of a plan, in plan order. */
export function suppressionChanges(plan: Plan): SuppressionOperation[] {
  return plan.operations.filter(isSuppressionOp);
}

/**
 * A token as a reviewer may see it: its last four characters when it is long enough that they
 * reveal nothing usable (16+), else nothing at all; the integration id is not a secret.
 */
export function maskToken(t: unknown): string {
  const tok = typeof t === 'object' && t !== null && !isSecretRef(t) ? (t as Token) : undefined;
  const raw = tok ? tok.token : t;
  const shown = typeof raw === 'string' && raw.length >= 16 ? `token …${raw.slice(-4)}` : 'token ••••';
  const extra = [tok?.integration_id !== undefined ? `integration ${tok.integration_id}` : '', tok?.status === 0 ? 'inactive' : ''].filter(Boolean);
  return extra.length > 0 ? `${shown} (${extra.join(', ')})` : shown;
}

/** A value as JSON, or `(sensitive)`. */
export function showValue(v: unknown, sensitive = false): string {
  if (sensitive || isSecretRef(v)) return SENSITIVE;
  if (Array.isArray(v) && v.some(isSecretRef)) return SENSITIVE;
  return JSON.stringify(v) ?? 'null';
}

function fieldSensitive(op: Operation, field: string): boolean {
  if (op.type === 'profile.create' || op.type === 'profile.update') return (op.sensitive_fields ?? []).includes(field);
  return !isSuppressionOp(op) && op.sensitive === true;
}

/** The lines of one operation (without the profile it belongs to). */
export function describeOperation(op: Operation): Line[] {
  switch (op.type) {
    case 'profile.merge':
      return [
        op.rename
          ? { sign: '»', text: `rename ${op.from} → ${op.distinct_id} (merge into a profile that does not exist)` }
          : { sign: '»', text: `merge ${op.from} into this profile (${op.from} is deleted)` },
      ];
    case 'profile.create': {
      const lines: Line[] = [{ sign: '+', text: 'create profile' }];
      const p = op.profile;
      for (const f of ['name', 'status', 'timezone'] as const) {
        if (p[f] !== undefined) lines.push({ sign: '+', text: `${f}: ${showValue(p[f], fieldSensitive(op, f))}` });
      }
      for (const c of CHANNELS) {
        const v = p.channels?.[c];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const t of v) lines.push({ sign: '+', text: `channels.${c}: ${maskToken(t)}` });
        else lines.push({ sign: '+', text: `channels.${c}: ${showValue(v, fieldSensitive(op, `channels.${c}`))}` });
      }
      return lines;
    }
    case 'profile.update':
      return op.changes.map((c) => {
        const s = fieldSensitive(op, c.field);
        return c.before === undefined
          ? { sign: '+', text: `${c.field}: ${showValue(c.after, s)}` }
          : { sign: '~', text: `${c.field}: ${showValue(c.before, s)} → ${showValue(c.after, s)}` };
      });
    case 'channel.set':
      if (Array.isArray(op.value)) {
        return op.in_place
          ? op.value.map((t) => ({ sign: '~', text: `channels.${op.channel}: update ${maskToken(t)}` }))
          : op.value.map((t) => ({ sign: '+', text: `channels.${op.channel}: insert ${maskToken(t)}` }));
      }
      return op.before === undefined
        ? [{ sign: '+', text: `channels.${op.channel}: ${showValue(op.value, op.sensitive)}` }]
        : [{ sign: '~', text: `channels.${op.channel}: ${showValue(op.before, op.sensitive)} → ${showValue(op.value, op.sensitive)}` }];
    case 'channel.delete':
      if (op.tokens) return op.tokens.map((t) => ({ sign: '-', text: `channels.${op.channel}: delete ${maskToken(t)}` }));
      return [
        {
          sign: '-',
          text: `channels.${op.channel}: ${op.before !== undefined ? `${showValue(op.before, op.sensitive)} → ` : ''}(channel deleted)`,
        },
      ];
    case 'preference.set':
      return [{ sign: '~', text: `preferences.${op.topic}.${op.channel}: ${op.before ?? '(default)'} → ${op.status}` }];
    case 'property.set':
      return op.before === undefined
        ? [{ sign: '+', text: `properties.${op.key}: ${showValue(op.value, op.sensitive)}` }]
        : [{ sign: '~', text: `properties.${op.key}: ${showValue(op.before, op.sensitive)} → ${showValue(op.value, op.sensitive)}` }];
    case 'property.set_once':
      return [{ sign: '+', text: `properties.${op.key}: ${showValue(op.value, op.sensitive)} (set once: only while unset)` }];
    case 'property.append':
      return [{ sign: '+', text: `properties.${op.key}: append ${showValue(op.value, op.sensitive)}` }];
    case 'property.remove':
      return [{ sign: '-', text: `properties.${op.key}: remove ${showValue(op.value, op.sensitive)}` }];
    case 'property.unset':
      return [{ sign: '-', text: `properties.${op.key}: ${op.before !== undefined ? `${showValue(op.before, op.sensitive)} → ` : ''}(unset)` }];
    case 'profile.delete':
      return [{ sign: '-', text: 'delete profile' }];
    case 'suppression.add': {
      const d = op.entry.description;
      if (op.before) return [{ sign: '~', text: `${suppressionName(op.entry)}: description ${showValue(op.before.description ?? null)} → ${showValue(d ?? null)}` }];
      return [{ sign: '+', text: `${suppressionName(op.entry)}${d !== undefined ? ` (${d})` : ''}` }];
    }
    case 'suppression.remove': {
      const d = op.entry.description;
      return [{ sign: '-', text: `${suppressionName(op.entry)}${d !== undefined ? ` (${d})` : ''}: remove record ${op._id}` }];
    }
    default:
      return assertNever(op);
  }
}

/** One line naming a risky operation, e.g. "delete channel sms". */
export function describeRisk(op: Operation): string {
  switch (op.type) {
    case 'profile.delete':
      return 'delete profile';
    case 'profile.merge':
      return op.rename ? `rename ${op.from} to this id (merge)` : `merge ${op.from} into it (${op.from} is deleted)`;
    case 'channel.delete':
      return op.tokens ? `delete ${op.tokens.length} ${op.channel} token(s)` : `delete channel ${op.channel}`;
    case 'suppression.remove':
      return `remove suppression ${suppressionName(op.entry)} (messages can reach it again)`;
    default:
      return describeOperation(op).map((l) => l.text).join('; ');
  }
}

export const ACTION_SIGN: Record<ProfileAction, Sign | ' '> = { create: '+', update: '~', merge: '»', delete: '-', noop: ' ' };

export interface ProfileChanges {
  distinct_id: DistinctId;
  action: ProfileAction;
  operations: readonly ProfileOperation[];
}

/** Operations grouped per profile, in plan order, with each profile's summary action. */
export function profileChanges(plan: Plan): ProfileChanges[] {
  return [...groupByProfile(plan.operations)].map(([distinct_id, operations]) => ({ distinct_id, action: profileAction(operations), operations }));
}

export function issueLine(i: PlanIssue): string {
  return `${i.at.file}:${i.at.line}:${i.at.column} ${i.distinct_id} ${i.field}: ${i.message}`;
}

/**
 * What a plan without operations says: live state matches the desired state only when the plan
 * covered all of it; a narrowed plan (`--target`, `--exclude`, `--shard`, `--changed-since`)
 * knows nothing of the profiles it left out.
 */
export function noChangesText(plan: Pick<Plan, 'scope'>): { head: string; rest: string } {
  return plan.scope ? { head: 'No changes to the profiles in scope.', rest: '' } : { head: 'No changes.', rest: ' Live state matches the desired state.' };
}

export function scopeLine(plan: Pick<Plan, 'scope'>): string | undefined {
  const s = plan.scope;
  if (!s) return undefined;
  const parts: string[] = [];
  if (s.target?.length) parts.push(`--target ${s.target.join(' ')}`);
  if (s.exclude?.length) parts.push(`--exclude ${s.exclude.join(' ')}`);
  if (s.shard) parts.push(`--shard ${s.shard.index}/${s.shard.count}`);
  const inc = s.incremental;
  if (inc) {
    const at = inc.revision.startsWith(inc.since) ? inc.revision.slice(0, 12) : `${inc.since} = ${inc.revision.slice(0, 12)}`;
    parts.push(`changed since ${at}: ${inc.skipped} unchanged`);
    if (inc.removed) parts.push(`${inc.removed} no longer in the files, left unmanaged`);
  }
  const line = `Scope: ${s.skipped} profile(s) of the desired state left out${parts.length ? ` (${parts.join(', ')})` : ''}.`;
  return inc ? `${line} Incremental: drift in unchanged profiles is not checked; a full plan finds it.` : line;
}
