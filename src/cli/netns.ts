import { lstat, mkdir, readlink, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createCriClient } from '../cri/client.js';
import { detectEndpoint } from '../cri/endpoint.js';
import { CriError } from '../cri/errors.js';
import type { RuntimeClient } from '../cri/types.js';
import { EXIT_FAILURE, EXIT_OK } from '../config/exit.js';
import type { NetnsConfig } from '../config/netns.js';
import { escaped } from './escape.js';
import type { CliIO } from './scan.js';

/** The ip-netns name of a pod: NAMESPACE_POD (both are DNS labels, so `_` cannot clash). */
export function netnsName(pod: NetnsConfig['pod']): string {
  return `${pod.namespace}_${pod.name}`;
}

/** PID of a running container of the pod (any: they share the pod's network namespace). */
async function podPid(runtime: RuntimeClient, pod: NetnsConfig['pod']): Promise<number | null> {
  const sandboxes = (await runtime.listSandboxes()).filter(
    (s) => s.pod.namespace === pod.namespace && s.pod.name === pod.name && s.state === 'ready',
  );
  const ids = new Set(sandboxes.map((s) => s.id));
  const running = (await runtime.listContainers()).filter(
    (c) => ids.has(c.sandboxId) && c.state === 'running',
  );
  for (const c of running) {
    const { pid } = await runtime.containerStatus(c.id);
    if (pid > 0) return pid;
  }
  return null;
}

async function link(config: NetnsConfig, runtime: RuntimeClient, io: CliIO): Promise<number> {
  const pid = await podPid(runtime, config.pod);
  if (pid === null) {
    io.stderr(
      `nsreport: pod ${config.pod.namespace}/${config.pod.name} has no running container on this node`,
    );
    return EXIT_FAILURE;
  }
  const path = join(config.netnsDir, netnsName(config.pod));
  const target = join(config.procRoot, String(pid), 'ns', 'net');
  await mkdir(config.netnsDir, { recursive: true });
  await unlink(path).catch(() => undefined);
  await symlink(target, path);
  io.stdout(escaped`${path} -> ${target}\nip netns exec ${netnsName(config.pod)} <command>\n`);
  return EXIT_OK;
}

/** Removes the name, but only a symlink into procfs: never an ip-netns bind mount of someone else. */
async function unlinkName(config: NetnsConfig, io: CliIO): Promise<number> {
  const path = join(config.netnsDir, netnsName(config.pod));
  try {
    const st = await lstat(path);
    const target = st.isSymbolicLink() ? await readlink(path) : '';
    if (!/\/\d+\/ns\/net$/.test(target)) {
      io.stderr(`nsreport: ${path} was not made by nsreport netns link; leaving it`);
      return EXIT_FAILURE;
    }
    await unlink(path);
    return EXIT_OK;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EXIT_OK;
    throw err;
  }
}

/** `nsreport netns link|unlink NS/POD`. */
export async function runNetns(config: NetnsConfig, io: CliIO): Promise<number> {
  if (config.command === 'netns-unlink') return unlinkName(config, io);
  const endpoint =
    config.criEndpoint ?? (await detectEndpoint().then((p) => (p.found ? p.endpoint : null)));
  if (endpoint === null) {
    io.stderr('nsreport: no CRI runtime socket found; pass --cri-endpoint');
    return EXIT_FAILURE;
  }
  const runtime = createCriClient(endpoint, { timeoutMs: config.criTimeoutMs });
  try {
    return await link(config, runtime, io);
  } catch (err) {
    if (!(err instanceof CriError)) throw err;
    io.stderr(`nsreport: ${err.message}`);
    return EXIT_FAILURE;
  } finally {
    runtime.close();
  }
}
