/**
 * Pure mappers for the verbose `info` of ContainerStatus. Both containerd and CRI-O put one JSON
 * document under the key "info":
 * - containerd (1.6–2.x): `{sandboxID, pid, config: <ContainerConfig as JSON>, runtimeSpec, …}`;
 *   privileged is `config.linux.security_context.privileged`.
 * - CRI-O: `{sandboxID, pid, runtimeSpec, privileged}` (server/container_status.go).
 * Anything else falls back to the OCI runtime spec to tell privileged containers apart.
 */

export interface VerboseContainerInfo {
  /** Host PID of the container's init process; 0 when absent or not a positive integer. */
  readonly pid: number;
  readonly sandboxId: string | null;
  /** null when neither the runtime's own field nor the runtime spec says. */
  readonly privileged: boolean | null;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * A privileged OCI spec (what both runtimes generate for `privileged: true`) keeps
 * CAP_SYS_ADMIN in the bounding set and masks no paths.
 */
function privilegedFromSpec(spec: unknown): boolean | null {
  const bounding = at(spec, 'process', 'capabilities', 'bounding');
  if (!Array.isArray(bounding)) return null;
  const masked = at(spec, 'linux', 'maskedPaths');
  const noMasks = !Array.isArray(masked) || masked.length === 0;
  return bounding.includes('CAP_SYS_ADMIN') && noMasks;
}

function parsePid(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** Parses the verbose info map of ContainerStatus. Malformed JSON yields pid 0, never a throw. */
export function parseContainerInfo(info: Readonly<Record<string, string>>): VerboseContainerInfo {
  const raw = info.info;
  let doc: unknown;
  try {
    doc = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    doc = undefined;
  }
  if (!isObject(doc)) return { pid: 0, sandboxId: null, privileged: null };
  const fromContainerd = at(doc, 'config', 'linux', 'security_context', 'privileged');
  const fromCrio = doc.privileged;
  let privileged: boolean | null;
  if (typeof fromContainerd === 'boolean') privileged = fromContainerd;
  else if (typeof fromCrio === 'boolean') privileged = fromCrio;
  else if (isObject(at(doc, 'config', 'linux', 'security_context'))) privileged = false;
  else privileged = privilegedFromSpec(doc.runtimeSpec);
  const sandboxId = typeof doc.sandboxID === 'string' ? doc.sandboxID : null;
  return { pid: parsePid(doc.pid), sandboxId, privileged };
}
