import { mkdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { errorCode } from './outcome.js';

/**
 * How nsreport knows a name is its own: a record per name under its run directory
 * (`/run/nsreport/netns/<the name's canonical path>`, e.g. `/run/nsreport/netns/run/netns/shop_web`),
 * never a file in the netns directory (`ip netns list` would show it). A name is nsreport's only
 * while the record names that path and the file there is a mount of the namespace the record
 * names (device and inode as stat(2) sees them through the mount); anything else at that path is
 * someone else's. /run is a tmpfs: records go at reboot, with the mounts they describe.
 */
export interface NameRecord {
  /** The name's canonical path. */
  readonly path: string;
  /** Inode of the pinned network namespace (nsfs). */
  readonly netns: number;
  /** Device of nsfs, as stat(2) of the mounted name gives it. */
  readonly dev: number;
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string };
  readonly containerId: string;
  /** The container's PID when the name was made (the namespace outlives it). */
  readonly pid: number;
  /** When the name was made, RFC 3339. */
  readonly linkedAt: string;
}

const KIND = 'nsreport.dev/netns-name';
const VERSION = 1;

/** The record as the file holds it: one JSON object with its kind and version. */
export function formatRecord(r: NameRecord): string {
  return `${JSON.stringify({ kind: KIND, version: VERSION, ...r })}\n`;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= 4096;

function parsePod(v: unknown): NameRecord['pod'] | null {
  if (!isObject(v)) return null;
  const { namespace, name, uid } = v;
  return isText(namespace) && isText(name) && isText(uid) ? { namespace, name, uid } : null;
}

function parseDocument(doc: Json): NameRecord | null {
  const { path, netns, dev, containerId, pid, linkedAt } = doc;
  const pod = parsePod(doc.pod);
  if (!isText(path) || !path.startsWith('/') || !isId(netns) || !isId(dev) || !isId(pid))
    return null;
  if (pod === null || !isText(containerId) || !isText(linkedAt)) return null;
  return { path, netns, dev, pod, containerId, pid, linkedAt };
}

/** A record's text, or null when it is not one this version wrote (then the name is not ours). */
export function parseRecord(text: string): NameRecord | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(doc) || doc.kind !== KIND || doc.version !== VERSION) return null;
  return parseDocument(doc);
}

/** Where the record of the name at `namePath` is kept. */
export function recordPath(stateDir: string, namePath: string): string {
  return join(stateDir, 'netns', namePath);
}

/** The record of the name at `namePath`; null when there is none or it is not a record. */
export function readRecord(stateDir: string, namePath: string): NameRecord | null {
  try {
    return parseRecord(readFileSync(recordPath(stateDir, namePath), 'utf8'));
  } catch {
    return null;
  }
}

/** Writes the record whole or not at all (a temporary file renamed over it). */
export function writeRecord(
  stateDir: string,
  r: NameRecord,
): { readonly ok: true } | { readonly ok: false; readonly detail: string } {
  const file = recordPath(stateDir, r.path);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(tmp, formatRecord(r), { mode: 0o644 });
    renameSync(tmp, file);
    return { ok: true };
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
    return { ok: false, detail: `${file}: ${errorCode(err)}` };
  }
}

/** Removes the record and the directories it leaves empty, up to and with the run directory. */
export function removeRecord(stateDir: string, namePath: string): void {
  const file = recordPath(stateDir, namePath);
  try {
    unlinkSync(file);
  } catch {
    return;
  }
  for (let dir = dirname(file); !relative(stateDir, dir).startsWith('..'); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty: another name's record is in it
    }
    if (dir === stateDir) return;
  }
}
