import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NamespaceReport } from '../../src/report/types.js';
import { createLabClient } from '../lab/cri.js';
import type { LabPod } from '../lab/pods.js';
import { HOSTNET_PORT, SIDECAR_PORT, removePod, runPod } from '../lab/pods.js';
import { LAB } from '../env.js';
import { NSREPORT, nsreport, runNsreport } from '../nsreport.js';
import { labScanArgs, until } from './agent-process.js';
import {
  assertDescribedContainers,
  ctrTaskPids,
  findmntPropagation,
  ip,
  lsnsInodes,
  ssListenerPids,
} from './oracles.js';

/**
 * nsreport scan against the containerd lab (test/lab), checked against independent oracles.
 * Run by test/e2e/run.sh, which starts the lab and exports its env.
 */
const { socket, dir: labDir } = LAB;
const HOST_PID = process.pid; // PID 1 is unreadable on these machines; we are in the host namespaces.

let pods: LabPod[];
let reports: Map<string, NamespaceReport>;

function report(name: string): NamespaceReport {
  const r = reports.get(name);
  assert.ok(r, `no report for ${name}`);
  return r;
}

before(() => {
  assert.ok(socket && labDir, 'run through test/e2e/run.sh (needs the lab env)');
  pods = JSON.parse(readFileSync(join(labDir, 'pods.json'), 'utf8')) as LabPod[];
  const r = nsreport(labScanArgs(socket));
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { kind: string; items: NamespaceReport[] };
  assert.equal(list.kind, 'List');
  reports = new Map(list.items.map((i) => [i.metadata.name, i]));
});

after(() => {
  nsreport(['netns', 'unlink', 'nsr-lab/multi']);
});

test('one report per lab pod, named and owned like the pod', () => {
  for (const p of pods) {
    const r = report(p.name);
    assert.equal(r.metadata.namespace, 'nsr-lab');
    assert.equal(r.report.pod.uid, p.uid);
    assert.equal(r.metadata.ownerReferences?.[0]?.uid, p.uid);
    assert.equal(r.report.sandbox.id, p.sandboxId);
    assert.deepEqual(
      r.report.containers.map((c) => c.name).sort(),
      p.containers.map((c) => c.name).sort(),
    );
  }
});

test('host PID of every container equals containerd task PID (ctr)', () => {
  const pids = ctrTaskPids(socket);
  for (const p of pods) {
    for (const c of report(p.name).report.containers) {
      assert.equal(c.state, 'running');
      assert.equal(c.pid, pids.get(c.id), `${p.name}/${c.name}`);
    }
  }
});

test('namespace inodes equal lsns, sharedWithHost equals comparing with the host reference', () => {
  const host = lsnsInodes(HOST_PID);
  for (const p of pods) {
    for (const c of report(p.name).report.containers) {
      const oracle = lsnsInodes(c.pid);
      for (const [type, ns] of Object.entries(c.namespaces)) {
        assert.equal(ns.inode, oracle[type], `${p.name}/${c.name} ${type}`);
        // Said when true; absent when the namespace is not the host's.
        assert.equal(
          ns.sharedWithHost,
          oracle[type] === host[type] ? 'true' : undefined,
          `${p.name}/${c.name} ${type}`,
        );
      }
      assert.equal(Object.keys(c.namespaces).length, 8);
    }
  }
});

test('hostNetwork is true exactly for the hostNetwork pod (observed and label)', () => {
  for (const p of pods) {
    const r = report(p.name);
    assert.equal(r.report.hostNamespaces.network, String(p.hostNetwork), p.name);
    // The label is there ("true") only when the pod shares the host's network namespace.
    assert.equal(
      r.metadata.labels['nsreport.dev/host-network'],
      p.hostNetwork ? 'true' : undefined,
      p.name,
    );
  }
  assert.deepEqual(
    pods.filter((p) => p.hostNetwork).map((p) => p.name),
    ['hostnet'],
  );
});

test('observed propagation of every declared mount equals findmnt -N', () => {
  let checked = 0;
  for (const p of pods) {
    for (const c of report(p.name).report.containers) {
      const oracle = findmntPropagation(c.pid);
      for (const m of c.mounts) {
        assert.equal(
          m.observedPropagation,
          oracle.get(m.destination),
          `${p.name}/${c.name}:${m.destination}`,
        );
        checked++;
      }
    }
  }
  assert.equal(checked, 4);
  const byPod = (name: string): string | undefined =>
    report(name).report.containers[0]?.mounts[0]?.observedPropagation;
  assert.equal(byPod('bidir'), 'shared');
  assert.equal(byPod('h2c'), 'slave');
  assert.equal(byPod('private'), 'private');
  const bidir = report('bidir').report.containers[0]?.mounts[0];
  assert.equal(bidir?.hostPropagation, 'shared');
  assert.equal(bidir?.consistent, true);
});

test('the hostNetwork pod listener is reported and owned by its container (ss)', () => {
  const r = report('hostnet');
  const server = r.report.containers.find((c) => c.name === 'server');
  assert.deepEqual(ssListenerPids(HOSTNET_PORT), [server?.pid]);
  assert.deepEqual(
    r.report.network.listeners
      .filter((l) => l.port === HOSTNET_PORT)
      .map((l) => [l.protocol, l.container]),
    [['tcp6', 'server']],
  );
  assert.ok(
    r.report.network.listeners.every((l) => l.container === 'server'),
    'only the pod own sockets',
  );
  const multi = report('multi');
  assert.deepEqual(
    multi.report.network.listeners.map((l) => [l.port, l.container]),
    [[SIDECAR_PORT, 'sidecar']],
  );
  assert.ok(multi.report.network.interfaces.some((i) => i.name === 'eth0' && i.ipv4.length === 1));
});

test('findings: NSR001/NSR008 hostnet, NSR004/NSR009 bidir, NSR007 runtime socket, NSR012 for root in the host user namespace, none for the non-root pod', () => {
  const ids = (name: string): string[] => [
    ...new Set(report(name).report.findings.map((f) => f.id)),
  ];
  assert.deepEqual(ids('hostnet'), ['NSR001', 'NSR008']);
  assert.deepEqual(ids('bidir'), ['NSR004', 'NSR009']);
  assert.deepEqual(ids('runtime-sock'), ['NSR007', 'NSR012']);
  // The lab's busybox runs as root without a user namespace (containerd 1.6 has none).
  assert.deepEqual(ids('multi'), ['NSR012']);
  assert.deepEqual(ids('h2c'), ['NSR012']);
  assert.deepEqual(ids('private'), ['NSR012']);
  assert.deepEqual(ids('nonroot'), []);
  assert.equal(report('private').metadata.labels['nsreport.dev/severity'], 'low');
  assert.equal(report('runtime-sock').metadata.labels['nsreport.dev/severity'], 'critical');
  assert.equal(report('hostnet').metadata.labels['nsreport.dev/severity'], 'high');
});

test('table output: one row per container with hostNetwork and findings visible', () => {
  const r = nsreport(['scan', '--cri-endpoint', socket, '--host-pid', String(HOST_PID)]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^NAMESPACE\s+POD\s+CONTAINER\s+PID\s+HOSTNET/);
  // Count the lab's own pods: the agent suite adds others.
  const names = new Set(pods.map((p) => p.name));
  const labRows = lines.slice(1).filter((l) => names.has(l.split(/\s+/)[1] ?? ''));
  assert.equal(
    labRows.length,
    pods.reduce((n, p) => n + p.containers.length, 0),
  );
  assert.match(r.stdout, /hostnet\s+server\s+\d+\s+true\s+.*NSR001,NSR008\s+high/);
  const one = nsreport([
    'scan',
    '-o',
    'yaml',
    '--cri-endpoint',
    socket,
    '--host-pid',
    String(HOST_PID),
    '--pod',
    'nsr-lab/bidir',
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /kind: NamespaceReport/);
  assert.doesNotMatch(one.stdout, /name: hostnet/);
});

test("procfs-only scan (no runtime found): every pod netns appears, not the host's", () => {
  const r = nsreport(['scan', '-o', 'json', '--host-pid', String(HOST_PID)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no CRI runtime socket found/);
  const view = JSON.parse(r.stdout) as {
    namespaces: { type: string; inode: number; host: string; processes: { pid: number }[] }[];
  };
  for (const p of pods) {
    const rep = report(p.name);
    const ns = view.namespaces.find(
      (n) => n.type === 'net' && n.inode === rep.report.network.netns,
    );
    assert.ok(ns, `netns of ${p.name}`);
    assert.equal(ns.host, String(p.hostNetwork));
    for (const c of rep.report.containers) assert.ok(ns.processes.some((x) => x.pid === c.pid));
  }
});

test('a process name holding terminal escapes reaches no terminal raw: the table shows it escaped, json exact', async () => {
  // A process in a network namespace of its own names itself with an OSC title, a screen clear
  // and a C1 CSI (what a container's process may do: comm is its own to set).
  const hostile = '\u001b]0;pwned\u0007\u001b[2J\u009b1m';
  const child = spawn(
    'unshare',
    [
      '--net',
      'bash',
      '-c',
      `printf '%s' "$0" > /proc/$$/comm; while :; do read -rt 1 || :; done`,
      hostile,
    ],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  try {
    const comm = (): string => readFileSync(`/proc/${child.pid ?? 0}/comm`, 'utf8');
    const t0 = Date.now();
    while (!comm().startsWith('\u001b]0;') && Date.now() - t0 < 5000)
      await new Promise((r) => setTimeout(r, 50));
    // The kernel keeps 15 bytes of it.
    const kept = comm().replace(/\n$/, '');
    assert.ok(kept.startsWith('\u001b]0;pwned'), JSON.stringify(kept));
    for (const output of ['table', 'wide']) {
      const r = nsreport(['scan', '-o', output, '--host-pid', String(HOST_PID)]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes('\\x1b]0;pwned\\x07'), `${output}: shown escaped`);
      // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
      assert.doesNotMatch(r.stdout + r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u);
    }
    const json = nsreport(['scan', '-o', 'json', '--host-pid', String(HOST_PID)]);
    const view = JSON.parse(json.stdout) as { namespaces: { processes: { comm: string }[] }[] };
    assert.ok(
      view.namespaces.some((n) => n.processes.some((p) => p.comm === kept)),
      'json exact',
    );
  } finally {
    child.kill('SIGKILL');
  }
});

/** The mounts at a name in this mount namespace, as mountinfo has them: [root, fstype]. */
function nameMounts(name: string): string[][] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === `/run/netns/${name}`)
    .map((f) => [f[3] ?? '', f[f.indexOf('-') + 1] ?? '']);
}

test('netns link makes ip netns exec enter the pod network namespace; unlink removes it', () => {
  const link = nsreport(['netns', 'link', 'nsr-lab/multi', '--cri-endpoint', socket]);
  assert.equal(link.code, 0, link.stderr);
  assert.match(
    link.stdout,
    /^\/run\/netns\/nsr-lab_multi: pinned network namespace \d+ of pod nsr-lab\/multi/,
  );
  assert.match(ip(['netns', 'list']), /^nsr-lab_multi\b/m);
  const netns = `net:[${report('multi').report.network.netns}]`;
  const inside = ip(['netns', 'exec', 'nsr-lab_multi', 'readlink', '/proc/self/ns/net']).trim();
  assert.equal(inside, netns);
  // The name is the namespace itself bind-mounted (nsfs), not a link to a PID.
  assert.deepEqual(nameMounts('nsr-lab_multi'), [[netns, 'nsfs']]);
  const unlink = nsreport(['netns', 'unlink', 'nsr-lab/multi']);
  assert.equal(unlink.code, 0, unlink.stderr);
  assert.doesNotMatch(ip(['netns', 'list']), /nsr-lab_multi/);
  assert.deepEqual(nameMounts('nsr-lab_multi'), []);
  assert.equal(existsSync('/run/nsreport/netns/run/netns/nsr-lab_multi'), false, 'its record');
  const missing = nsreport(['netns', 'link', 'nsr-lab/nope', '--cri-endpoint', socket]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^nsreport: pod nsr-lab\/nope not found on this node\n$/);
});

test('describe --local: the hostNetwork and the Bidirectional pod as ctr, lsns and findmnt have them; its commands work as printed', () => {
  const pids = ctrTaskPids(socket);
  const host = lsnsInodes(HOST_PID);
  for (const name of ['hostnet', 'bidir', 'multi']) {
    const r = nsreport([
      ...['describe', '--local', `nsr-lab/${name}`],
      ...['--cri-endpoint', socket, '--host-pid', String(HOST_PID)],
    ]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, /^Source: +this machine's runtime and \/proc, just now/m);
    assertDescribedContainers(r.stdout, report(name).report.containers, pids, host, name);
    // Every command of "Look further" runs as printed (the netns name is removed after).
    const commands = [
      ...r.stdout.matchAll(/^ {2}((?:lsns|nsenter|findmnt|nsreport|ip) .*?)\s+# /gm),
    ].map((m) => m[1] ?? '');
    assert.equal(commands.length, 6, name);
    // As a user runs them: nsreport on PATH, the lab's runtime socket in its environment.
    const bin = mkdtempSync(join(tmpdir(), 'nsr-bin-'));
    writeFileSync(join(bin, 'nsreport'), `#!/bin/sh\nexec ${process.execPath} ${NSREPORT} "$@"\n`, {
      mode: 0o755,
    });
    const env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      NSREPORT_CRI_ENDPOINT: socket,
    };
    try {
      for (const cmd of commands) {
        const run = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env });
        assert.equal(run.status, 0, `${name}: ${cmd}: ${run.stderr}`);
      }
    } finally {
      nsreport(['netns', 'unlink', `nsr-lab/${name}`]);
      rmSync(bin, { recursive: true });
    }
  }
  const hostnet = nsreport([
    'describe',
    '--local',
    'nsr-lab/hostnet',
    '--cri-endpoint',
    socket,
    '--host-pid',
    String(HOST_PID),
  ]);
  assert.match(hostnet.stdout, /network: +yes: the node's own network namespace/);
  assert.match(
    hostnet.stdout,
    new RegExp(`tcp6? +\\S+:${HOSTNET_PORT} +server +from outside the node`),
  );
  const bidir = nsreport([
    'describe',
    '--local',
    'nsr-lab/bidir',
    '--cri-endpoint',
    socket,
    '--host-pid',
    String(HOST_PID),
  ]);
  assert.match(
    bidir.stdout,
    /Bidirectional +shared +a mount made on the host appears here, and one made here reaches the host/,
  );
  const missing = nsreport(['describe', '--local', 'nsr-lab/nope', '--cri-endpoint', socket]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /pod nsr-lab\/nope is not on this machine's runtime/);
});

/** A `sleep` that gets `pid`: the next PID is set through ns_last_pid until it takes. */
function processWithPid(pid: number): ChildProcess {
  for (let i = 0; i < 200; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['120'], { stdio: 'ignore' });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  throw new Error(`PID ${pid} could not be reused`);
}

test("netns link pins the pod's namespace: its container's PID reused by a host process, ip netns exec still enters the pod's", async () => {
  const cri = createLabClient(socket, { timeoutMs: 30_000 });
  const pod = await runPod(
    cri,
    { name: 'netns-pin', containers: [{ name: 'app', command: ['/bin/sleep', 'infinity'] }] },
    LAB.image,
  );
  let reused: ChildProcess | undefined;
  try {
    const link = nsreport(['netns', 'link', 'nsr-lab/netns-pin', '--cri-endpoint', socket]);
    assert.equal(link.code, 0, link.stderr);
    const pid = ctrTaskPids(socket).get(pod.containers[0]?.id ?? '') ?? 0;
    assert.ok(pid > 0);
    const netns = readlinkSync(`/proc/${pid}/ns/net`);
    process.kill(pid, 'SIGKILL');
    await until(
      `PID ${pid} to exit`,
      () => (existsSync(`/proc/${pid}`) ? undefined : true),
      10_000,
    );
    // Later than the 2 s the PID rule allows around the container's start.
    await new Promise((r) => setTimeout(r, 3000));
    reused = processWithPid(pid);
    await new Promise((r) => setTimeout(r, 100));
    // What a link to /proc/<pid>/ns/net would enter now: the host's namespace.
    assert.equal(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    const inside = ip(['netns', 'exec', 'nsr-lab_netns-pin', 'readlink', '/proc/self/ns/net']);
    assert.equal(inside.trim(), netns);
    // Linking again pins nothing of the new process: the container exited, or its PID is stale.
    const again = nsreport(['netns', 'link', 'nsr-lab/netns-pin', '--cri-endpoint', socket]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no running container on this node/);
    const unlink = nsreport(['netns', 'unlink', 'nsr-lab/netns-pin']);
    assert.equal(unlink.code, 0, unlink.stderr);
    assert.deepEqual(nameMounts('nsr-lab_netns-pin'), []);
  } finally {
    reused?.kill('SIGKILL');
    nsreport(['netns', 'unlink', 'nsr-lab/netns-pin']);
    await removePod(cri, pod.sandboxId);
    cri.close();
  }
});

test('a /32 pod address with only a default route (Calico, Cilium, AWS VPC CNI) is on eth0', async () => {
  // A namespace of a process of ours, not `ip netns add`: that would bind-mount /run/netns onto
  // itself and hide the lab's pod netns mounts under it.
  const { spawn } = await import('node:child_process');
  const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  const pid = child.pid ?? 0;
  const inNs = (args: string[]): void => {
    const r = spawnSync('nsenter', ['-t', String(pid), '-n', 'ip', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  try {
    await new Promise((r) => setTimeout(r, 300));
    ip(['link', 'add', 'nsr32a', 'type', 'veth', 'peer', 'name', 'nsr32b']);
    ip(['link', 'set', 'nsr32b', 'netns', String(pid)]);
    inNs(['link', 'set', 'nsr32b', 'name', 'eth0']);
    inNs(['link', 'set', 'lo', 'up']);
    inNs(['addr', 'add', '10.99.0.5/32', 'dev', 'eth0']);
    inNs(['link', 'set', 'eth0', 'up']);
    inNs(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    inNs(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    const { readNetwork } = await import('../../src/procfs/reader.js');
    const net = readNetwork('/proc', pid, false);
    assert.ok(net.ok);
    assert.deepEqual(
      net.value.interfaces.find((i) => i.name === 'eth0')?.ipv4,
      ['10.99.0.5'],
      JSON.stringify(net.value.interfaces),
    );
  } finally {
    child.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', 'nsr32a']);
  }
});

test('a reader that closes stdout (scan -o json | head -1) ends the scan quietly, exit 0', async () => {
  const r = await runNsreport(labScanArgs(socket), { timeoutMs: 60_000, closeStdout: true });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|^\s+at /m);
});
