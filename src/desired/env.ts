/**
 * `${VAR}` substitution in string values (../shared/PRODUCT.md, "Desired state").
 *
 * `${NAME}` reads the environment variable NAME; `$${` writes a literal `${`. A missing variable
 * is an error. The paths of substituted values are returned so every output can mask them; no
 * message here ever contains a variable's value.
 *
 * The walk visits every string of the file, so it also reports each one that is not well-formed
 * Unicode (a lone surrogate written as `"\uD800"`, issue #14) after substitution.
 */
import { setOwn, stringProblem } from '../plan/normalize.js';
import type { InstancePath, PathSegment } from './positions.js';

export interface EnvProblem {
  path: InstancePath;
  message: string;
}

export interface Substituted {
  value: unknown;
  /** Paths whose string value came wholly or partly from the environment. */
  sensitive: InstancePath[];
  problems: EnvProblem[];
}

// `$${` (escape), `${NAME}` (reference) or any other `${` (malformed).
const TOKEN_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{/g;

/**
 * `${` → `$${`: the text of a value that is data (a live value `pull` writes, a cell `import`
 * writes), which the loader must read back as written, never as a variable reference.
 */
export function escapeEnv(s: string): string {
  // A replacer function: in a replacement string `$$` would itself mean one `$`.
  return s.includes('${') ? s.replaceAll('${', () => '$${') : s;
}

/** `escapeEnv` of every string value (not keys) of plain data; the same object when none holds `${`. */
export function escapeEnvDeep<T>(v: T): T {
  if (typeof v === 'string') return escapeEnv(v) as T;
  if (Array.isArray(v)) {
    const out = v.map((x: unknown) => escapeEnvDeep(x));
    return (out.every((x, i) => x === v[i]) ? v : out) as T;
  }
  if (v !== null && typeof v === 'object') {
    let out: Record<string, unknown> | undefined;
    for (const [k, x] of Object.entries(v)) {
      const e = escapeEnvDeep(x);
      if (e !== x) {
        out ??= { ...(v as Record<string, unknown>) };
        out[k] = e;
      }
    }
    return (out ?? v) as T;
  }
  return v;
}

/** Substitutes in every string value (not keys) of a plain JS tree; returns a new tree. */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>): Substituted {
  const sensitive: InstancePath[] = [];
  const problems: EnvProblem[] = [];
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) {
        const bad = stringProblem(v);
        if (bad) problems.push({ path: [...path], message: bad });
        return v;
      }
      const r = substituteString(v, env);
      for (const m of r.problems) problems.push({ path: [...path], message: m });
      if (r.fromEnv) sensitive.push([...path]);
      // Never the value in the message: it may come from the environment.
      if (r.problems.length === 0 && stringProblem(r.value)) problems.push({ path: [...path], message: 'holds a lone surrogate: not well-formed Unicode, it cannot be sent to Fyno as written' });
      return r.value;
    }
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const x = walk(v[i], path);
        path.pop();
        if (x !== v[i]) (out ??= v.slice())[i] = x;
      }
      return out ?? v;
    }
    if (v !== null && typeof v === 'object') {
      let out: Record<string, unknown> | undefined;
      const obj = v as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        path.push(k);
        const x = walk(obj[k], path);
        path.pop();
        // The spread and setOwn keep a `__proto__` key as data (`out[k] = x` would not).
        if (x !== obj[k]) setOwn((out ??= { ...obj }), k, x);
      }
      return out ?? v;
    }
    return v;
  };
  return { value: walk(value, []), sensitive, problems };
}

export function substituteString(
  s: string,
  env: Record<string, string | undefined>,
): { value: string; fromEnv: boolean; problems: string[] } {
  let fromEnv = false;
  const problems: string[] = [];
  const value = s.replace(TOKEN_RE, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      problems.push('malformed variable reference "${" (write ${NAME} with letters, digits and _, or $${ for a literal ${)');
      return match;
    }
    const v = env[name];
    if (v === undefined) {
      problems.push(`environment variable ${name} is not set`);
      return match;
    }
    fromEnv = true;
    return v;
  });
  return { value, fromEnv, problems };
}
