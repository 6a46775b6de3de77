/**
 * Reading what an API server answers without trusting its shape: a list item, a Pod or a
 * DaemonSet is JSON whose every field may be missing or of another type (a proxy, an old or
 * hostile server, an object written before a schema). Each reader gives the type it names or
 * an empty one, never a TypeError.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

/** A JSON object (not null, not a list). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path of object keys, or undefined where the path breaks. */
export function at(v: unknown, ...path: readonly string[]): unknown {
  let cur = v;
  for (const key of path) cur = isObject(cur) ? cur[key] : undefined;
  return cur;
}

/** A string, or '' for anything else. */
export function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A string, or undefined for anything else (a field that may be absent). */
export function optionalText(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative safe integer, or 0 for anything else. */
export function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** The objects of a list (other items dropped); [] for anything but a list. */
export function objects(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** The string entries of a map (labels, annotations, a nodeSelector). */
export function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(
    Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** The strings of a list (other items dropped); [] for anything but a list. */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}
