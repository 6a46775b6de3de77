import { closeSync, fstatSync, lstatSync, openSync, realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkNetnsDir, makeNetnsDir } from './dir.js';
import { done, errorCode, failure, type NetnsOutcome } from './outcome.js';
import type { OpenNamespace } from './pod.js';
import { readRecord, removeRecord, writeRecord, type NameRecord } from './record.js';
import type { Mounter, ToolResult } from './tools.js';

/**
 * A pod's name for `ip netns`: a file in the netns directory with the namespace bind-mounted on
 * it, as `ip netns attach` makes one (ip/ipnetns.c netns_add), so the name holds the namespace
 * itself and never follows a PID. nsreport removes only names it made (record.ts).
 */

/** What lstat(2) shows at a name's path (through a mount on it, the mounted file). */
export interface NameStat {
  readonly isFile: boolean;
  readonly dev: number;
  readonly ino: number;
}

/** Whose the path is: nobody's, nsreport's (with its record), or someone else's. */
export type NameState =
  | { readonly state: 'free' }
  | { readonly state: 'foreign' }
  | { readonly state: 'ours'; readonly record: NameRecord };

/**
 * The rule: a path is nsreport's while its record names that path and the file there is a mount
 * of the recorded namespace (nsfs device and inode). A record without that mount is stale; a
 * mount without a record is someone else's (`ip netns add`, CNI, a person).
 */
export function nameState(
  path: string,
  stat: NameStat | null,
  record: NameRecord | null,
): NameState {
  if (stat === null) return { state: 'free' };
  if (record?.path !== path) return { state: 'foreign' };
  const pinned = stat.isFile && stat.dev === record.dev && stat.ino === record.netns;
  return pinned ? { state: 'ours', record } : { state: 'foreign' };
}

export interface NameOptions {
  /** `--netns-dir`, as given. */
  readonly netnsDir: string;
  /** nsreport's run directory (the records). */
  readonly stateDir: string;
  /** The name, NAMESPACE_POD. */
  readonly name: string;
  readonly mounter: Mounter;
  readonly now?: () => Date;
}

/** The flag the directory comes from, as messages name it. */
export const FLAG = '--netns-dir';

function lstatName(path: string): NameStat | null {
  try {
    const st = lstatSync(path);
    return { isFile: st.isFile(), dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

const pins = (s: NameStat | null, dev: number, ino: number): boolean =>
  s !== null && s.dev === dev && s.ino === ino;

function toolFailure(what: string, r: Exclude<ToolResult, { ok: true }>): string {
  return `${what}: ${r.detail}`;
}

function describe(r: NameRecord): string {
  return `network namespace ${r.netns} of pod ${r.pod.namespace}/${r.pod.name}`;
}

/** The empty file a name is mounted on, made as ip netns does (O_CREAT|O_EXCL, mode 0). */
function claim(path: string): NameStat | NetnsOutcome {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o000);
  } catch (err) {
    if (errorCode(err) === 'EEXIST')
      return failure(`${path} appeared while it was being made; leaving it`);
    return failure(`cannot make ${path} (${errorCode(err)})`);
  }
  try {
    const st = fstatSync(fd);
    return { isFile: true, dev: st.dev, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** Removes the claimed file, only while it is still the one made (nothing mounted on it). */
function release(path: string, claimed: NameStat): void {
  if (!pins(lstatName(path), claimed.dev, claimed.ino)) return;
  try {
    unlinkSync(path);
  } catch {
    // left as an empty file; `ip netns delete` removes it
  }
}

/** Undoes a mount that did not pin what it should: unmount (when something is on it), release. */
async function undo(mounter: Mounter, path: string, claimed: NameStat): Promise<string> {
  if (!pins(lstatName(path), claimed.dev, claimed.ino)) {
    const r = await mounter.unmount(path);
    if (!r.ok) return `; undoing it failed too (${r.detail}): umount ${path} && rm ${path}`;
  }
  release(path, claimed);
  return '';
}

async function pin(o: NameOptions, path: string, ns: OpenNamespace): Promise<NetnsOutcome> {
  const claimed = claim(path);
  if ('ok' in claimed) return claimed;
  const mounted = await o.mounter.bindNamespace(ns.fd, path);
  if (!mounted.ok) {
    release(path, claimed);
    return failure(
      toolFailure(`mount --bind of network namespace ${ns.inode} onto ${path}`, mounted),
    );
  }
  // What the name holds now, through the mount: the namespace that was opened, or nothing is kept.
  const now = lstatName(path);
  if (!pins(now, ns.dev, ns.inode)) {
    const seen = now === null ? 'nothing' : `device ${now.dev} inode ${now.ino}`;
    const undone = await undo(o.mounter, path, claimed);
    return failure(`${path} did not pin network namespace ${ns.inode} (it shows ${seen})${undone}`);
  }
  const record: NameRecord = {
    path,
    netns: ns.inode,
    dev: ns.dev,
    pod: ns.pod,
    containerId: ns.containerId,
    pid: ns.pid,
    linkedAt: (o.now ?? ((): Date => new Date()))().toISOString(),
  };
  const written = writeRecord(o.stateDir, record);
  if (!written.ok) {
    const undone = await undo(o.mounter, path, claimed);
    return failure(`cannot write the record of ${path} (${written.detail}); not linked${undone}`);
  }
  return done(
    `${path}: pinned ${describe(record)} (container ${ns.containerName}, PID ${ns.pid})`,
    `use: ip netns exec ${o.name} COMMAND`,
  );
}

/**
 * `netns link`: makes the name for the open namespace, or says why not. A name that exists is
 * left alone, unless it is nsreport's for this very namespace (then there is nothing to do).
 */
export async function linkName(o: NameOptions, ns: OpenNamespace): Promise<NetnsOutcome> {
  const dir = makeNetnsDir(FLAG, o.netnsDir);
  if (!dir.ok) return dir.outcome;
  const path = join(dir.path, o.name);
  const st = nameState(path, lstatName(path), readRecord(o.stateDir, path));
  if (st.state === 'free') return pin(o, path, ns);
  if (st.state === 'foreign')
    return failure(`${path} already exists and was not made by nsreport; leaving it`);
  if (st.record.netns === ns.inode && st.record.dev === ns.dev)
    return done(`${path} already pins ${describe(st.record)}: nothing to do`);
  return failure(
    `${path} pins ${describe(st.record)} (uid ${st.record.pod.uid}, linked ${st.record.linkedAt}), ` +
      `not the pod's namespace now (${ns.inode}); run nsreport netns unlink first`,
  );
}

/** Unmounts every copy of the recorded namespace stacked on the path (one, unless raced). */
async function unpin(o: NameOptions, path: string, record: NameRecord): Promise<NetnsOutcome> {
  for (let i = 0; i < 8 && pins(lstatName(path), record.dev, record.netns); i++) {
    const r = await o.mounter.unmount(path);
    if (!r.ok) return failure(toolFailure(`umount ${path}`, r));
  }
  const left = lstatName(path);
  if (left !== null && (!left.isFile || left.dev === record.dev))
    return failure(`${path} still holds a namespace after umount; leaving it`);
  if (left !== null) {
    try {
      unlinkSync(path);
    } catch (err) {
      return failure(`unmounted ${path} but cannot remove it (${errorCode(err)})`);
    }
  }
  removeRecord(o.stateDir, path);
  return done(`${path}: removed (it pinned ${describe(record)})`);
}

/**
 * `netns unlink`: removes the name only when nsreport made it (unmount, then the file and its
 * record). Nothing there is nothing to do; someone else's name is left as it is.
 */
export async function unlinkName(o: NameOptions): Promise<NetnsOutcome> {
  const check = checkNetnsDir(FLAG, o.netnsDir, false);
  if (!check.ok) return check.outcome;
  if (!check.exists) return done(`nothing to do: ${o.netnsDir} does not exist`);
  let dir: string;
  try {
    dir = realpathSync(o.netnsDir);
  } catch (err) {
    return failure(`${FLAG}: cannot resolve ${o.netnsDir} (${errorCode(err)})`);
  }
  const path = join(dir, o.name);
  const record = readRecord(o.stateDir, path);
  const st = nameState(path, lstatName(path), record);
  if (st.state === 'ours') return unpin(o, path, st.record);
  // A record of ours that no longer describes the path describes nothing.
  if (record?.path === path) removeRecord(o.stateDir, path);
  if (st.state === 'free') return done(`nothing to do: ${path} does not exist`);
  return failure(
    `${path} was not made by nsreport netns link (or no longer holds what it pinned); ` +
      `leaving it (ip netns delete ${o.name} removes any name)`,
  );
}
