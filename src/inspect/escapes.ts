import { NAMESPACE_TYPES, type NamespaceSet } from '../procfs/namespaces.js';
import type { ReadResult } from '../procfs/result.js';
import type { ContainerSample, EscapedProcess, ProcessSample, SandboxSample } from './types.js';

/**
 * Processes that left their container's namespaces for the host's or another pod's: what a
 * privileged container's `nsenter -t 1 -m -n` does, unseen when only each container's init is
 * read. A process that makes a namespace of its own (unshare, a sandboxing browser, a build
 * tool) has left nothing: only namespaces that belong to the host or to another pod count.
 * Pure.
 */

/** `type:inode` of every container init's namespaces → the pod (`namespace/name`) it is in. */
export function namespaceOwners(sandboxes: readonly SandboxSample[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const s of sandboxes) {
    const pod = `${s.summary.pod.namespace}/${s.summary.pod.name}`;
    for (const c of s.containers)
      for (const [type, inode] of Object.entries(c.namespaces?.ok ? c.namespaces.value : {}))
        owners.set(`${type}:${inode}`, pod);
  }
  return owners;
}

/** Where one process is, against its container's namespaces (`own`) and the host's. */
interface Context {
  readonly own: NamespaceSet;
  readonly host: NamespaceSet;
  readonly pod: string;
  readonly owners: ReadonlyMap<string, string>;
}

/** The namespaces of one process that are the host's or another pod's. */
function escapesOfProcess(p: ProcessSample, ctx: Context): EscapedProcess[] {
  if (!p.namespaces.ok) return [];
  const out: EscapedProcess[] = [];
  for (const type of NAMESPACE_TYPES) {
    const inode = p.namespaces.value[type];
    // Its container's, or one of its own making (no one else's): not an escape.
    if (inode === undefined || inode === ctx.own[type]) continue;
    const into = inode === ctx.host[type] ? 'host' : ctx.owners.get(`${type}:${inode}`);
    if (into !== undefined && into !== ctx.pod)
      out.push({ pid: p.pid, comm: p.comm, namespace: type, into });
  }
  return out;
}

/**
 * The container's processes in a namespace (of any type) that is not its init's but the host's
 * (`host` is the host reference's) or another pod's; sorted by PID, then namespace type.
 */
export function escapedProcesses(
  c: ContainerSample,
  pod: string,
  host: ReadResult<NamespaceSet>,
  owners: ReadonlyMap<string, string>,
): EscapedProcess[] {
  if (!c.namespaces?.ok || !c.processes) return [];
  const ctx = { own: c.namespaces.value, host: host.ok ? host.value : {}, pod, owners };
  return c.processes
    .flatMap((p) => escapesOfProcess(p, ctx))
    .sort(
      (a, b) =>
        a.pid - b.pid ||
        NAMESPACE_TYPES.indexOf(a.namespace) - NAMESPACE_TYPES.indexOf(b.namespace),
    );
}
