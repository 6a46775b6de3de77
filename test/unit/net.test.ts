import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  hexToIpv4,
  hexToIpv6,
  ifaceForIpv4,
  parseFibTrieLocal,
  parseIfInet6,
  parseListeningSockets,
  parseNetDev,
  parseRoutes,
} from '../../src/procfs/net.js';
import { assembleInterfaces } from '../../src/procfs/net.js';
import { fixture, mutated, netFixture } from './fixtures.js';

test('net/dev: interface names', () => {
  assert.deepEqual(parseNetDev(fixture('proc/pod-net-dev')), ['lo', 'eth0']);
  assert.ok(parseNetDev(fixture('proc/host-net-dev')).includes('nsrlab0'));
});

test('fib_trie: local IPv4 addresses, each once', () => {
  assert.deepEqual(parseFibTrieLocal(fixture('proc/pod-net-fib_trie')).sort(), [
    '10.88.77.3',
    '127.0.0.1',
  ]);
  const host = parseFibTrieLocal(fixture('proc/host-net-fib_trie'));
  assert.ok(host.includes('10.88.77.1'));
  assert.ok(!host.includes('10.88.77.255'), 'broadcast is not a local address');
});

test('route + fib_trie: each address on its interface', () => {
  const ifaces = assembleInterfaces(
    fixture('proc/pod-net-dev'),
    fixture('proc/pod-net-fib_trie'),
    fixture('proc/pod-net-route'),
    fixture('proc/pod-net-if_inet6'),
  );
  assert.deepEqual(ifaces, [
    { name: 'lo', ipv4: ['127.0.0.1'], ipv6: ['::1'] },
    { name: 'eth0', ipv4: ['10.88.77.3'], ipv6: ['fe80::a434:39ff:fe31:6992'] },
  ]);
  const routes = parseRoutes(fixture('proc/host-net-route'));
  assert.equal(ifaceForIpv4('10.88.77.1', routes), 'nsrlab0');
  assert.equal(ifaceForIpv4('127.0.0.5', routes), 'lo');
  assert.equal(
    ifaceForIpv4('203.0.113.9', routes),
    'eth0',
    'a local address no connected route contains is on the default route interface',
  );
  assert.equal(
    ifaceForIpv4(
      '203.0.113.9',
      routes.filter((r) => r.mask !== 0),
    ),
    null,
  );
});

test('if_inet6: canonical IPv6 text', () => {
  const a = parseIfInet6(fixture('proc/host-net-if_inet6'));
  assert.ok(a.some((x) => x.address === 'fd00::2' && x.iface === 'eth0'));
  assert.ok(a.some((x) => x.address === '::1' && x.iface === 'lo'));
});

test('tcp6: the hostNetwork pod listener on [::]:39180 with its socket inode', () => {
  assert.deepEqual(parseListeningSockets(fixture('proc/host-net-tcp6'), 'tcp6'), [
    { protocol: 'tcp6', address: '::', port: 39180, inode: 17416 },
  ]);
  assert.deepEqual(parseListeningSockets(fixture('proc/pod-net-tcp6'), 'tcp6'), [
    { protocol: 'tcp6', address: '::', port: 8080, inode: 17503 },
  ]);
});

test('tcp: only LISTEN sockets; established ones are not listeners', () => {
  const l = parseListeningSockets(fixture('proc/host-net-tcp'), 'tcp');
  assert.deepEqual(
    l.map((x) => `${x.address}:${x.port}`),
    ['0.0.0.0:2024', '127.0.0.1:43417'],
  );
});

test('udp: bound unconnected sockets', () => {
  const text =
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
    '  123: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5555 2 0000000000000000 0\n' +
    '  124: 0100007F:0277 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 5556 2 0000000000000000 0\n';
  assert.deepEqual(parseListeningSockets(text, 'udp'), [
    { protocol: 'udp', address: '0.0.0.0', port: 53, inode: 5555 },
  ]);
});

test('malformed and truncated socket tables give what is complete', () => {
  const text = fixture('proc/host-net-tcp');
  const cut = text.slice(0, text.indexOf('0100007F:A999') + 20);
  assert.equal(parseListeningSockets(cut, 'tcp').length, 1);
  assert.deepEqual(
    parseListeningSockets('header\nnot a socket line\n  0: ZZ:1 00:0 0A', 'tcp'),
    [],
  );
});

test('property: IPv4 hex round trip (host byte order)', () => {
  fc.assert(
    fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), ([a, b, c, d]) => {
      const hex = [d, c, b, a]
        .map((o) => o.toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
      assert.equal(hexToIpv4(hex), `${a}.${b}.${c}.${d}`);
    }),
  );
});

test('property: IPv6 hex is canonical and parses back', () => {
  fc.assert(
    fc.property(fc.ipV6(), (ip) => {
      const expanded = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
      const groups = expanded.includes('.') ? null : expanded;
      if (groups === null) return;
      const full = groups
        .split('::')
        .map((h): string[] => (h === '' ? [] : h.split(':')))
        .reduce((l, r) => [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r]);
      const hex = full.map((g) => g.padStart(4, '0')).join('');
      assert.equal(hexToIpv6(hex), expanded);
    }),
  );
});

test('property: parsers never throw on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      parseNetDev(s);
      parseFibTrieLocal(s);
      parseRoutes(s);
      parseIfInet6(s);
      parseListeningSockets(s, 'tcp');
      parseListeningSockets(s, 'udp6');
    }),
  );
});

test('a /32 pod address (Calico, Cilium, AWS VPC CNI): eth0 keeps it, from a real namespace set up so', () => {
  const ifaces = assembleInterfaces(
    fixture('proc/pod32-net-dev'),
    fixture('proc/pod32-net-fib_trie'),
    fixture('proc/pod32-net-route'),
    fixture('proc/pod32-net-if_inet6'),
  );
  assert.deepEqual(
    ifaces.map((i) => [i.name, i.ipv4]),
    [
      ['lo', ['127.0.0.1']],
      ['eth0', ['10.99.0.5']],
    ],
  );
});

test('property: captured network files broken anywhere: interfaces and listeners, never a throw', () => {
  for (const which of ['pod', 'host'] as const) {
    const files = netFixture(which);
    const file = (f: string): string => files[f] ?? '';
    fc.assert(
      fc.property(
        mutated(file('dev')),
        mutated(file('fib_trie')),
        mutated(file('route')),
        mutated(file('if_inet6')),
        (dev, fib, route, inet6) => {
          for (const i of assembleInterfaces(dev, fib, route, inet6)) {
            assert.ok(i.name !== '' && !/\s/.test(i.name));
            for (const a of i.ipv4) assert.match(a, /^\d{1,3}(\.\d{1,3}){3}$/);
          }
        },
      ),
      { numRuns: 60 },
    );
    for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const)
      fc.assert(
        fc.property(mutated(file(proto)), (text) => {
          for (const l of parseListeningSockets(text, proto)) {
            assert.ok(Number.isInteger(l.port) && l.port >= 0 && l.port <= 0xffff);
            assert.ok(Number.isSafeInteger(l.inode));
          }
        }),
        { numRuns: 40 },
      );
  }
});
