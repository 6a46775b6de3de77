/**
 * A small structural check of JSON read from the API, for what the audit reads of a report: a
 * report's body is anyone's to write (with write access, or before the CRD's schema), and a
 * field of the wrong type must make the report untrusted, not the audit throw.
 */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  /** One of these strings. */
  | { readonly oneOf: readonly string[] }
  /** A list whose every item has the shape. */
  | { readonly listOf: Shape }
  /** May be absent; when present, has the shape. */
  | { readonly optional: Shape }
  /** An object with these fields (others allowed). */
  | { readonly fields: Readonly<Record<string, Shape>> };

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 19)}…` : v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function listProblem(v: unknown, item: Shape, path: string): string | null {
  if (!Array.isArray(v)) return `${path || 'it'} is ${describe(v)}, not a list`;
  for (let i = 0; i < v.length; i++) {
    const p = problemOf(v[i], item, `${path}[${i}]`);
    if (p !== null) return p;
  }
  return null;
}

function fieldsProblem(
  v: unknown,
  fields: Readonly<Record<string, Shape>>,
  path: string,
): string | null {
  if (!isObject(v)) return `${path || 'it'} is ${describe(v)}, not an object`;
  for (const [k, s] of Object.entries(fields)) {
    const p = problemOf(v[k], s, `${path}.${k}`);
    if (p !== null) return p;
  }
  return null;
}

/**
 * The first place where `v` does not have the shape, under `path` ('' for `v` itself: "it"), as
 * `report.containers[2].mounts is an object, not a list`; null when it has it.
 */
export function problemOf(v: unknown, shape: Shape, path: string): string | null {
  if (typeof shape === 'string')
    return typeof v === shape ? null : `${path || 'it'} is ${describe(v)}, not a ${shape}`;
  if ('oneOf' in shape)
    return typeof v === 'string' && shape.oneOf.includes(v)
      ? null
      : `${path || 'it'} is ${describe(v)}, not one of ${shape.oneOf.join(', ')}`;
  if ('optional' in shape) return v === undefined ? null : problemOf(v, shape.optional, path);
  if ('listOf' in shape) return listProblem(v, shape.listOf, path);
  return fieldsProblem(v, shape.fields, path);
}
