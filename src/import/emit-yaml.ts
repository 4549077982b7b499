/**
 * A small YAML emitter for the plain data `mapRecord` produces (objects, arrays, strings,
 * finite numbers, booleans, null). The `yaml` package's `stringify` builds a node tree per
 * value and was most of the import's time at 100,000 rows; this writes the same block style
 * directly. Strings are written plain only when they match a conservative pattern that YAML
 * 1.2 (and 1.1) reads back as the same string; anything else is written as a JSON string,
 * which is a valid YAML double-quoted scalar. test/unit/import-emit.test.ts checks the round
 * trip through the `yaml` parser on generated values.
 */

// Plain-safe: starts with a letter, $ or _; then letters, digits and _ . @ / + - $, with single
// inner spaces; no ": " or " #" can occur, nothing reads as a number, date or flag.
const PLAIN_RE = /^[A-Za-z_$][A-Za-z0-9_.@/+$-]*(?: [A-Za-z0-9_.@/+$-]+)*$/;
// Words YAML 1.1 or 1.2 read as booleans or null.
const RESERVED_RE = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

export function emitScalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('cannot write a non-finite number');
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const s = String(v);
  return PLAIN_RE.test(s) && !RESERVED_RE.test(s) ? s : JSON.stringify(s);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The text after `key:` or `-`: ` scalar\n`, or a newline and the nested block. */
function after(v: unknown, ind: string): string {
  if (Array.isArray(v)) return v.length === 0 ? ' []\n' : `\n${emitSeq(v, ind)}`;
  if (isObject(v)) return Object.keys(v).length === 0 ? ' {}\n' : `\n${emitMap(v, ind)}`;
  return ` ${emitScalar(v)}\n`;
}

/** A block mapping, each line indented by `ind`. `undefined` values are left out. */
export function emitMap(o: Record<string, unknown>, ind = ''): string {
  let out = '';
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out += `${ind}${emitScalar(k)}:${after(v, `${ind}  `)}`;
  }
  return out;
}

/** A block sequence, each `-` indented by `ind`. */
export function emitSeq(a: readonly unknown[], ind = ''): string {
  let out = '';
  for (const item of a) {
    if (isObject(item) && Object.keys(item).length > 0) {
      out += `${ind}- ${emitMap(item, `${ind}  `).slice(ind.length + 2)}`;
    } else {
      out += `${ind}-${after(item, `${ind}  `)}`;
    }
  }
  return out;
}
