/**
 * Pure parsers for the network files of /proc/<pid>/net. Each file describes the network
 * namespace of the process that is read, so a namespace is read once whatever the number of
 * containers in it.
 */

/** Interface names from /proc/<pid>/net/dev, in file order. */
export function parseNetDev(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name !== '' && !/\s/.test(name)) out.push(name);
  }
  return out;
}

/**
 * Local IPv4 addresses from /proc/<pid>/net/fib_trie: the `/32 host LOCAL` leaves. Only the
 * first table (Main or Local, which both list local routes) is read, and duplicates dropped.
 */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const leaf = /^\s*\|-- (\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (leaf?.[1]) {
      last = leaf[1];
      continue;
    }
    if (last !== null && /^\s*\/32 host LOCAL\s*$/.test(line)) out.add(last);
  }
  return [...out];
}

export interface Route {
  readonly iface: string;
  /** Destination and mask as numbers in network order (a.b.c.d → a<<24 | …). */
  readonly destination: number;
  readonly mask: number;
}

/** The kernel prints IPv4 in /proc/net as host-order (little-endian) hex. */
export function hexToIpv4(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

/** Routes of the main table from /proc/<pid>/net/route. */
export function parseRoutes(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const dest = hexToIpv4(f[1] ?? '');
    const mask = hexToIpv4(f[7] ?? '');
    if (!f[0] || dest === null || mask === null) continue;
    out.push({ iface: f[0], destination: ipv4ToNumber(dest), mask: ipv4ToNumber(mask) });
  }
  return out;
}

/**
 * The interface an IPv4 local address belongs to: loopback addresses to `lo`, others to the
 * interface of the most specific connected route that contains them. An address no connected
 * route contains — the /32 pod address of Calico, Cilium or the AWS VPC CNI, whose namespace has
 * only a default route and a /32 route to its gateway — belongs to the interface of the default
 * route. null when there is none either.
 */
export function ifaceForIpv4(address: string, routes: readonly Route[]): string | null {
  if (address.startsWith('127.')) return 'lo';
  const a = ipv4ToNumber(address);
  let best: Route | null = null;
  for (const r of routes) {
    if (r.mask === 0 || (a & r.mask) >>> 0 !== r.destination) continue;
    if (!best || r.mask >>> 0 > best.mask >>> 0) best = r;
  }
  return best?.iface ?? routes.find((r) => r.mask === 0 && r.destination === 0)?.iface ?? null;
}

/** 32 hex digits (network order) → canonical RFC 5952 text, via the WHATWG URL serializer. */
export function hexToIpv6(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return null;
  const groups = hex.match(/.{4}/g) ?? [];
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export interface Ipv6Address {
  readonly address: string;
  readonly iface: string;
}

/** /proc/<pid>/net/if_inet6: address, ifindex, prefix length, scope, flags, name. */
export function parseIfInet6(text: string): Ipv6Address[] {
  const out: Ipv6Address[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !f[5]) continue;
    const address = hexToIpv6(f[0] ?? '');
    if (address !== null) out.push({ address, iface: f[5] });
  }
  return out;
}

export type SocketProtocol = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export interface ListeningSocket {
  readonly protocol: SocketProtocol;
  readonly address: string;
  readonly port: number;
  /** Socket inode, to attribute the socket to a process through /proc/<pid>/fd. */
  readonly inode: number;
}

/** tcp6/udp6 print each 32-bit word of the address in host order: swap bytes per word. */
function socketHexToIpv6(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return null;
  const words = hex.match(/.{8}/g) ?? [];
  const swapped = words.map((w) => (w.match(/../g) ?? []).reverse().join('')).join('');
  return hexToIpv6(swapped);
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/**
 * Listening sockets from /proc/<pid>/net/{tcp,tcp6,udp,udp6}: TCP in LISTEN, UDP bound and
 * unconnected (remote port 0). Malformed lines are skipped.
 */
export function parseListeningSockets(text: string, protocol: SocketProtocol): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const socket = parseSocketLine(line, protocol);
    if (socket) out.push(socket);
  }
  return out;
}

/** `sl local rem st … uid timeout inode …`: only sockets in the wanted state with remote port 0. */
const SOCKET_LINE =
  /^\s*\d+: ([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4}) [0-9A-Fa-f]+:0000 ([0-9A-Fa-f]{2}) \S+ \S+ \S+ +\d+ +\d+ (\d+)/;

function parseSocketLine(line: string, protocol: SocketProtocol): ListeningSocket | null {
  const m = SOCKET_LINE.exec(line);
  if (!m) return null;
  const [, localHex, localPort, state, inodeText] = m as unknown as string[];
  const wanted = protocol.startsWith('tcp') ? TCP_LISTEN : UDP_UNCONNECTED;
  if (state !== wanted) return null;
  const v6 = protocol.endsWith('6');
  const address = v6 ? socketHexToIpv6(localHex as string) : hexToIpv4(localHex as string);
  const inode = Number(inodeText);
  if (address === null || !Number.isSafeInteger(inode)) return null;
  return { protocol, address, port: parseInt(localPort as string, 16), inode };
}

export interface NetworkInterface {
  readonly name: string;
  readonly ipv4: string[];
  readonly ipv6: string[];
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
