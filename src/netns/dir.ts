import { accessSync, constants, mkdirSync, realpathSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode, failure, usage, type NetnsOutcome } from './outcome.js';

/**
 * Filesystems the kernel generates, by statfs f_type (include/uapi/linux/magic.h, Linux 6.x):
 * a name cannot be made on them, and writes there have effects or loop (`/proc/sys/x`).
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x0027e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6e736673, 'nsfs'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0xf97cff8c, 'selinuxfs'],
  [0x43415d53, 'smackfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
]);

/** The name of a kernel-generated filesystem type, or null for one that holds files. */
export function pseudoFilesystem(type: number): string | null {
  // f_type is a C long: a magic above 2^31 may come back negative on some ABIs.
  return PSEUDO_FILESYSTEMS.get(type >>> 0) ?? null;
}

/** Where the netns directory stands before anything is written. */
export type DirCheck =
  | { readonly ok: true; readonly exists: boolean }
  | { readonly ok: false; readonly outcome: NetnsOutcome };

type Probe = 'dir' | 'not-dir' | 'missing' | 'not-dir-above' | { readonly code: string };

function probe(path: string): Probe {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'not-dir';
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') return 'missing';
    return code === 'ENOTDIR' ? 'not-dir-above' : { code };
  }
}

/** A directory that exists: on a filesystem that holds files, and (when asked) writable. */
function usableDir(flag: string, dir: string, shown: string, write: boolean): NetnsOutcome | null {
  let fs: string | null;
  try {
    fs = pseudoFilesystem(statfsSync(dir).type);
  } catch (err) {
    return failure(`${flag}: cannot look up ${shown} (${errorCode(err)})`);
  }
  if (fs !== null)
    return usage(`${flag}: ${shown} is on ${fs}, not a filesystem names can be made on`);
  if (!write) return null;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return null;
  } catch (err) {
    return failure(`${flag}: ${shown} is not writable (${errorCode(err)})`);
  }
}

function probeFailure(flag: string, path: string, p: Exclude<Probe, 'dir' | 'missing'>): DirCheck {
  if (p === 'not-dir') return { ok: false, outcome: usage(`${flag}: ${path} is not a directory`) };
  if (p === 'not-dir-above')
    return { ok: false, outcome: usage(`${flag}: ${path}: a part of it is not a directory`) };
  const o = p.code === 'ELOOP' ? usage : failure;
  return { ok: false, outcome: o(`${flag}: cannot look up ${path} (${p.code})`) };
}

/**
 * Checks `--netns-dir` without writing: an existing directory, or one whose parent exists (only
 * the last level is made, as `ip netns` makes /var/run/netns), on a filesystem that holds files,
 * and writable when `write`. Symlinks are followed (`/var/run` → `/run`).
 */
export function checkNetnsDir(flag: string, dir: string, write: boolean): DirCheck {
  const self = probe(dir);
  if (self === 'dir') {
    const bad = usableDir(flag, dir, dir, write);
    return bad === null ? { ok: true, exists: true } : { ok: false, outcome: bad };
  }
  if (self !== 'missing') return probeFailure(flag, dir, self);
  const parent = dirname(dir);
  const up = probe(parent);
  if (up === 'missing')
    return {
      ok: false,
      outcome: usage(
        `${flag}: ${dir}: its parent ${parent} does not exist (only the last directory is made)`,
      ),
    };
  if (up !== 'dir') return probeFailure(flag, parent, up);
  const bad = usableDir(flag, parent, `${dir} (its parent ${parent})`, write);
  return bad === null ? { ok: true, exists: false } : { ok: false, outcome: bad };
}

/**
 * Makes the netns directory if missing, as iproute2's create_netns_dir does (ip/ipnetns.c:
 * mkdir 0755, one level, EEXIST is fine), and returns its canonical path: names and their
 * records are kept by it, so `/var/run/netns` and `/run/netns` are one directory.
 */
export function makeNetnsDir(
  flag: string,
  dir: string,
):
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly outcome: NetnsOutcome } {
  try {
    mkdirSync(dir, 0o755);
  } catch (err) {
    if (errorCode(err) !== 'EEXIST')
      return { ok: false, outcome: failure(`${flag}: cannot make ${dir} (${errorCode(err)})`) };
  }
  try {
    return { ok: true, path: realpathSync(dir) };
  } catch (err) {
    return { ok: false, outcome: failure(`${flag}: cannot resolve ${dir} (${errorCode(err)})`) };
  }
}
