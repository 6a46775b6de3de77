import { closeSync, fstatSync, openSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkContainerPid } from '../collect/pid.js';
import { CriError } from '../cri/errors.js';
import type { ContainerSummary, PodIdentity, RuntimeClient, SandboxSummary } from '../cri/types.js';
import { parseNsLink } from '../procfs/namespaces.js';
import { errorCode } from './outcome.js';

/** A pod's network namespace, held open: what a name pins, whatever becomes of the PID. */
export interface OpenNamespace {
  /** Descriptor of `/proc/<pid>/ns/net`, opened before the PID was checked. */
  readonly fd: number;
  /** Device (nsfs) and inode of the namespace, from fstat(2) of the descriptor. */
  readonly dev: number;
  readonly inode: number;
  readonly pid: number;
  readonly pod: PodIdentity;
  readonly containerId: string;
  readonly containerName: string;
}

export type PodLookup =
  | { readonly ok: true; readonly ns: OpenNamespace }
  | { readonly ok: false; readonly message: string };

type Opened =
  | { readonly fd: number; readonly dev: number; readonly inode: number; readonly pid: number }
  | string;

/**
 * Opens `<procRoot>/<pid>/ns/net` and checks through the descriptor that it is a network
 * namespace (its /proc/self/fd link says `net:[inode]`, the inode fstat gives).
 */
function openNetns(procRoot: string, pid: number): Opened {
  let fd: number;
  try {
    fd = openSync(join(procRoot, String(pid), 'ns', 'net'), 'r');
  } catch (err) {
    return `its network namespace could not be opened (${errorCode(err)})`;
  }
  try {
    const st = fstatSync(fd);
    const link = parseNsLink(readlinkSync(`/proc/self/fd/${fd}`));
    if (link?.type === 'net' && link.inode === st.ino)
      return { fd, dev: st.dev, inode: st.ino, pid };
  } catch {
    // not a namespace file: said below
  }
  closeSync(fd);
  return `${join(procRoot, String(pid), 'ns', 'net')} is not a network namespace`;
}

/**
 * The namespace of one running container, or why not: the descriptor is opened first, then the
 * PID is checked (collect/pid.ts), so a PID reused in between is refused, not pinned.
 */
async function containerNetns(
  runtime: RuntimeClient,
  procRoot: string,
  c: ContainerSummary,
): Promise<Opened> {
  let detail;
  try {
    detail = await runtime.containerStatus(c.id);
  } catch (err) {
    // Removed between the listing and the status: the next container, if any.
    if (err instanceof CriError && err.kind === 'not-found') return `${c.name}: gone`;
    throw err;
  }
  if (detail.state !== 'running' || detail.pid <= 0) return `${c.name}: not running`;
  const opened = openNetns(procRoot, detail.pid);
  if (typeof opened === 'string') return `${c.name}: PID ${detail.pid}: ${opened}`;
  const check = checkContainerPid(procRoot, detail);
  if (check.verdict === 'own') return opened;
  closeSync(opened.fd);
  return check.verdict === 'stale'
    ? `${c.name}: ${check.reason}`
    : `${c.name}: cannot tell whether PID ${detail.pid} is the container's process: ${check.reason}`;
}

function podSandboxes(all: readonly SandboxSummary[], pod: NamespacedName): SandboxSummary[] {
  return all.filter((s) => s.pod.namespace === pod.namespace && s.pod.name === pod.name);
}

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** The first running container whose process is its own, or why each was not. */
async function firstOwnNetns(
  runtime: RuntimeClient,
  procRoot: string,
  sandboxes: readonly SandboxSummary[],
): Promise<OpenNamespace | string[]> {
  const containers = await runtime.listContainers();
  const why: string[] = [];
  // The newest ready sandbox first: during a restart the old one may still be listed.
  for (const s of [...sandboxes].sort((a, b) => b.createdAt - a.createdAt)) {
    for (const c of containers.filter((x) => x.sandboxId === s.id && x.state === 'running')) {
      const opened = await containerNetns(runtime, procRoot, c);
      if (typeof opened === 'string') why.push(opened);
      else return { ...opened, pod: s.pod, containerId: c.id, containerName: c.name };
    }
  }
  return why;
}

/**
 * The pod's network namespace through one of its running containers (any: they share it), held
 * open. Failures are values: the pod not on this node, no running container whose process is
 * its own, a CRI error (its message names the endpoint and the call).
 */
export async function openPodNetns(
  runtime: RuntimeClient,
  procRoot: string,
  pod: NamespacedName,
): Promise<PodLookup> {
  const ref = `${pod.namespace}/${pod.name}`;
  try {
    const sandboxes = podSandboxes(await runtime.listSandboxes(), pod);
    if (sandboxes.length === 0) return { ok: false, message: `pod ${ref} not found on this node` };
    const ready = sandboxes.filter((s) => s.state === 'ready');
    const found =
      ready.length === 0
        ? ['its sandbox is not ready']
        : await firstOwnNetns(runtime, procRoot, ready);
    if (!Array.isArray(found)) return { ok: true, ns: found };
    const why = found.length > 0 ? ` (${found.join('; ')})` : '';
    return { ok: false, message: `pod ${ref} has no running container on this node${why}` };
  } catch (err) {
    if (err instanceof CriError) return { ok: false, message: err.message };
    throw err;
  }
}
