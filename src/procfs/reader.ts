import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMountinfo, type MountInfo } from './mountinfo.js';
import { NAMESPACE_TYPES, parseNsLink, type NamespaceSet } from './namespaces.js';
import {
  ifaceForIpv4,
  parseFibTrieLocal,
  parseIfInet6,
  parseListeningSockets,
  parseNetDev,
  parseRoutes,
  type ListeningSocket,
  type SocketProtocol,
} from './net.js';
import { failureOf, ok, type ReadResult } from './result.js';

/**
 * Readers of procfs. Each takes the proc root (`/proc`, or `/host/proc` in a container) so tests
 * and the agent point them wherever procfs is mounted. None throws for an expected failure.
 */

/** All eight namespace links of a process. */
export async function readNamespaces(
  procRoot: string,
  pid: number,
): Promise<ReadResult<NamespaceSet>> {
  const dir = join(procRoot, String(pid), 'ns');
  const set: NamespaceSet = {};
  const links = await Promise.allSettled(NAMESPACE_TYPES.map((t) => readlink(join(dir, t))));
  let firstError: unknown;
  links.forEach((r, i) => {
    const type = NAMESPACE_TYPES[i];
    if (r.status === 'rejected') {
      // A type the kernel lacks is ENOENT on that link only; the process is gone when all are.
      firstError ??= r.reason;
      return;
    }
    const link = parseNsLink(r.value);
    if (type && link?.type === type) set[type] = link.inode;
  });
  if (Object.keys(set).length === 0)
    return failureOf(firstError ?? new Error('no namespace links'), dir);
  return ok(set);
}

async function readText(path: string): Promise<ReadResult<string>> {
  try {
    return ok(await readFile(path, 'utf8'));
  } catch (err) {
    return failureOf(err, path);
  }
}

/** /proc/<pid>/mountinfo, parsed. An empty read means the process exited while it was read. */
export async function readMountinfo(
  procRoot: string,
  pid: number,
): Promise<ReadResult<MountInfo[]>> {
  const path = join(procRoot, String(pid), 'mountinfo');
  const text = await readText(path);
  if (!text.ok) return text;
  const mounts = parseMountinfo(text.value);
  return mounts.length === 0 ? failureOf({ code: 'ESRCH' }, path) : ok(mounts);
}

export interface NetworkInterface {
  readonly name: string;
  readonly ipv4: string[];
  readonly ipv6: string[];
}

/** One network namespace as seen through a process in it. */
export interface NetworkSample {
  readonly interfaces: NetworkInterface[];
  /** Listening sockets; null when they were not read (see readNetwork's `listeners`). */
  readonly listeners: ListeningSocket[] | null;
}

/** Interfaces from net/dev with their addresses from fib_trie (+ route) and if_inet6. */
export function assembleInterfaces(
  dev: string,
  fibTrie: string,
  route: string,
  ifInet6: string,
): NetworkInterface[] {
  const routes = parseRoutes(route);
  const byName = new Map<string, NetworkInterface>(
    parseNetDev(dev).map((name) => [name, { name, ipv4: [], ipv6: [] }]),
  );
  for (const addr of parseFibTrieLocal(fibTrie)) {
    const iface = ifaceForIpv4(addr, routes);
    if (iface !== null) byName.get(iface)?.ipv4.push(addr);
  }
  for (const a of parseIfInet6(ifInet6)) byName.get(a.iface)?.ipv6.push(a.address);
  return [...byName.values()];
}

const SOCKET_FILES: readonly SocketProtocol[] = ['tcp', 'tcp6', 'udp', 'udp6'];

async function readListeners(netDir: string): Promise<ReadResult<ListeningSocket[]>> {
  const out: ListeningSocket[] = [];
  for (const proto of SOCKET_FILES) {
    const text = await readText(join(netDir, proto));
    // A kernel without IPv6 has no tcp6/udp6: that is no listener, not an error.
    if (!text.ok && text.reason === 'gone' && proto.endsWith('6')) continue;
    if (!text.ok) return text;
    out.push(...parseListeningSockets(text.value, proto));
  }
  return ok(out);
}

/**
 * Interfaces with their addresses, and (when `listeners`) the listening sockets of the
 * network namespace of `pid`. net/tcp* cost ~1 ms each (the kernel walks every socket of the
 * host), so callers decide how often to pay for them.
 */
export async function readNetwork(
  procRoot: string,
  pid: number,
  listeners: boolean,
): Promise<ReadResult<NetworkSample>> {
  const netDir = join(procRoot, String(pid), 'net');
  const [dev, fib, route, inet6] = await Promise.all(
    ['dev', 'fib_trie', 'route', 'if_inet6'].map((f) => readText(join(netDir, f))),
  );
  if (!dev?.ok) return dev ?? failureOf(new Error('no net/dev'), netDir);
  const text = (r: ReadResult<string> | undefined): string => (r?.ok ? r.value : '');
  const interfaces = assembleInterfaces(dev.value, text(fib), text(route), text(inet6));
  let sockets: ListeningSocket[] | null = null;
  if (listeners) {
    const read = await readListeners(netDir);
    if (!read.ok) return read;
    sockets = read.value;
  }
  return ok({ interfaces, listeners: sockets });
}

/** Socket inodes held open by a process (its fd table), to attribute listeners to containers. */
export async function readSocketInodes(
  procRoot: string,
  pid: number,
): Promise<ReadResult<Set<number>>> {
  const dir = join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = await readdir(dir);
  } catch (err) {
    return failureOf(err, dir);
  }
  const inodes = new Set<number>();
  const targets = await Promise.allSettled(fds.map((fd) => readlink(join(dir, fd))));
  for (const t of targets) {
    // An fd closed between readdir and readlink is simply not there any more.
    const m = t.status === 'fulfilled' ? /^socket:\[(\d+)\]$/.exec(t.value) : null;
    if (m?.[1]) inodes.add(Number(m[1]));
  }
  return ok(inodes);
}

/** Direct children of a process (Linux ≥3.5 with CONFIG_PROC_CHILDREN); [] when unknown. */
export async function readChildren(procRoot: string, pid: number): Promise<number[]> {
  const text = await readText(join(procRoot, String(pid), 'task', String(pid), 'children'));
  if (!text.ok) return [];
  return text.value
    .trim()
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

export interface ProcessEntry {
  readonly pid: number;
  readonly comm: string;
}

/** Every process visible under procRoot with its command name (processes that exit are skipped). */
export async function listProcesses(procRoot: string): Promise<ProcessEntry[]> {
  const names = (await readdir(procRoot)).filter((n) => /^\d+$/.test(n));
  const comms = await Promise.all(names.map((n) => readText(join(procRoot, n, 'comm'))));
  const out: ProcessEntry[] = [];
  names.forEach((n, i) => {
    const c = comms[i];
    if (c?.ok) out.push({ pid: Number(n), comm: c.value.trim() });
  });
  return out.sort((a, b) => a.pid - b.pid);
}
