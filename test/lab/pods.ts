/**
 * Creates and removes the lab's pods through CRI, the way kubelet does: RunPodSandbox with the
 * pod's metadata and kubelet's labels, then CreateContainer + StartContainer per container.
 * The command line is test/lab/cli.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { WireNamespaceOption } from '../../src/cri/wire.js';
import { MASKED_PATHS, READONLY_PROC_PATHS } from '../../src/inspect/isolation.js';
import type { LabRuntimeClient, WireContainerConfig, WireSandboxConfig } from './cri.js';

export const LAB_NAMESPACE = 'nsr-lab';
/** The port the hostNetwork pod listens on, on every host address. */
export const HOSTNET_PORT = 39180;
/** The port the multi pod's sidecar listens on, inside its own netns. */
export const SIDECAR_PORT = 8080;
/** Port the non-root pod listens on (as uid 65534: its fd table is not root's to read). */
export const NONROOT_PORT = 8081;

export interface LabMountSpec {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly propagation:
    'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
  readonly readonly?: boolean;
  /**
   * A path of the kubelet's per-pod layout: `@POD@` in hostPath stands for the pod's UID, and
   * runPod makes the file or directory there first, as the kubelet does.
   */
  readonly kubelet?: 'file' | 'dir';
  /** CRI `recursive_read_only` (the kubelet's `recursiveReadOnly: Enabled`). */
  readonly recursiveReadOnly?: boolean;
}

export interface LabContainerSpec {
  readonly name: string;
  readonly command: string[];
  readonly mounts?: LabMountSpec[];
  readonly privileged?: boolean;
  /** Run as this uid instead of root. */
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly supplementalGroups?: number[];
}

export interface LabPodSpec {
  readonly name: string;
  /** Default: the lab namespace. */
  readonly namespace?: string;
  readonly hostNetwork?: boolean;
  readonly privileged?: boolean;
  readonly containers: LabContainerSpec[];
  /** Sandbox annotations, e.g. the kubelet's `kubernetes.io/config.source: file` of a static pod. */
  readonly annotations?: Record<string, string>;
  /**
   * A user namespace of its own, as the kubelet asks for `hostUsers: false`: CRI
   * `userns_options` mode POD with this host ID as container ID 0's, 65536 IDs.
   */
  readonly usernsHostId?: number;
}

export interface LabPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly sandboxId: string;
  readonly hostNetwork: boolean;
  readonly containers: { name: string; id: string }[];
  readonly mounts: LabMountSpec[];
}

const SLEEP = ['/bin/sleep', 'infinity'];

/** The lab's scenarios, each a pod a kubelet could have made. */
export function scenarioPods(hostDir: string, socket: string): LabPodSpec[] {
  return [
    {
      name: 'multi',
      containers: [
        { name: 'app', command: SLEEP },
        { name: 'sidecar', command: ['/bin/httpd', '-f', '-p', String(SIDECAR_PORT)] },
      ],
    },
    {
      name: 'hostnet',
      hostNetwork: true,
      containers: [{ name: 'server', command: ['/bin/httpd', '-f', '-p', String(HOSTNET_PORT)] }],
    },
    {
      name: 'h2c',
      containers: [
        {
          name: 'reader',
          command: SLEEP,
          mounts: [
            {
              containerPath: '/data',
              hostPath: join(hostDir, 'h2c'),
              propagation: 'PROPAGATION_HOST_TO_CONTAINER',
              readonly: true,
            },
          ],
        },
      ],
    },
    {
      name: 'bidir',
      privileged: true,
      containers: [
        {
          name: 'mounter',
          command: SLEEP,
          privileged: true,
          mounts: [
            {
              containerPath: '/shared',
              hostPath: join(hostDir, 'shared'),
              propagation: 'PROPAGATION_BIDIRECTIONAL',
            },
          ],
        },
      ],
    },
    {
      name: 'runtime-sock',
      containers: [
        {
          name: 'client',
          command: SLEEP,
          mounts: [
            {
              containerPath: '/run/containerd/containerd.sock',
              hostPath: socket,
              propagation: 'PROPAGATION_PRIVATE',
            },
          ],
        },
      ],
    },
    {
      name: 'nonroot',
      containers: [
        {
          name: 'web',
          command: ['/bin/httpd', '-f', '-p', String(NONROOT_PORT)],
          runAsUser: 65534,
        },
      ],
    },
    {
      name: 'private',
      containers: [
        {
          name: 'app',
          command: SLEEP,
          mounts: [
            {
              containerPath: '/data',
              hostPath: join(hostDir, 'private'),
              propagation: 'PROPAGATION_PRIVATE',
            },
          ],
        },
      ],
    },
  ];
}

/**
 * The mounts of a plain Deployment pod's container, at the kubelet's own paths under the lab's
 * kubelet root (`pods/<uid>/…`, pkg/kubelet/kubelet_getters.go) and in the kubelet's order
 * (pkg/kubelet/kubelet_pods.go makeMounts: the spec's volumeMounts, the service account token the
 * admission plugin adds to them, then /etc/hosts and the termination log): a configMap, a secret,
 * an emptyDir, the projected token, /etc/hosts, the termination log.
 */
export function kubeletMounts(hostDir: string, container = 'app'): LabMountSpec[] {
  const pod = join(hostDir, 'kubelet', 'pods', POD_UID);
  const volume = (containerPath: string, plugin: string, name: string): LabMountSpec => ({
    containerPath,
    hostPath: join(pod, `volumes/kubernetes.io~${plugin}`, name),
    propagation: 'PROPAGATION_PRIVATE',
    kubelet: 'dir',
  });
  return [
    volume('/etc/app', 'configmap', 'app-config'),
    { ...volume('/etc/app-tls', 'secret', 'app-tls'), readonly: true },
    volume('/cache', 'empty-dir', 'cache'),
    {
      ...volume(
        '/var/run/secrets/kubernetes.io/serviceaccount',
        'projected',
        'kube-api-access-7xk2p',
      ),
      readonly: true,
    },
    {
      containerPath: '/etc/hosts',
      hostPath: join(pod, 'etc-hosts'),
      propagation: 'PROPAGATION_PRIVATE',
      kubelet: 'file',
    },
    {
      containerPath: '/dev/termination-log',
      hostPath: join(pod, 'containers', container, '5b2d1c0e'),
      propagation: 'PROPAGATION_PRIVATE',
      kubelet: 'file',
    },
  ];
}

/** What runPod puts in place of `@POD@` in a kubelet mount's host path. */
const POD_UID = '@POD@';

/** A kubelet mount of this pod: its host path made, as the kubelet makes it before the container. */
function materialise(m: LabMountSpec, uid: string): LabMountSpec {
  if (!m.kubelet) return m;
  const hostPath = m.hostPath.replace(POD_UID, uid);
  mkdirSync(m.kubelet === 'dir' ? hostPath : dirname(hostPath), { recursive: true });
  if (m.kubelet === 'file') writeFileSync(hostPath, '');
  return { ...m, hostPath };
}

/** Plain Deployment pods (one container, kubeletMounts), to scale the lab for the benchmark. */
export function fillerPods(hostDir: string, count: number, start = 0): LabPodSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `filler-${String(start + i).padStart(3, '0')}`,
    // Non-root, as a plain Deployment pod should be (root would be NSR012).
    containers: [{ name: 'app', command: SLEEP, mounts: kubeletMounts(hostDir), runAsUser: 65534 }],
  }));
}

/** The labels kubelet puts on a pod's sandbox and containers. */
function podLabels(spec: LabPodSpec, uid: string): Record<string, string> {
  return {
    'io.kubernetes.pod.name': spec.name,
    'io.kubernetes.pod.namespace': spec.namespace ?? LAB_NAMESPACE,
    'io.kubernetes.pod.uid': uid,
  };
}

/** kubelet sets the same namespace modes on the sandbox and on each container. */
function namespaceOptions(spec: LabPodSpec): Partial<WireNamespaceOption> {
  const base = { network: spec.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' };
  if (spec.usernsHostId === undefined) return base;
  const ids = [{ hostId: spec.usernsHostId, containerId: 0, length: 65536 }];
  return { ...base, usernsOptions: { mode: 'POD', uids: ids, gids: ids } };
}

function sandboxConfig(spec: LabPodSpec, uid: string): WireSandboxConfig {
  return {
    metadata: { name: spec.name, namespace: spec.namespace ?? LAB_NAMESPACE, uid, attempt: 0 },
    // kubelet leaves the hostname empty for hostNetwork pods (runc refuses one without a UTS ns).
    hostname: spec.hostNetwork ? '' : spec.name,
    labels: podLabels(spec, uid),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
    linux: {
      securityContext: {
        privileged: spec.privileged ?? false,
        namespaceOptions: namespaceOptions(spec),
      },
    },
  };
}

function containerConfig(
  pod: LabPodSpec,
  c: LabContainerSpec,
  uid: string,
  image: string,
): WireContainerConfig {
  return {
    metadata: { name: c.name, attempt: 0 },
    // The name as written, beside the image, as kubelet ≥ 1.30 sends it (CRI-O requires it).
    image: { image, userSpecifiedImage: image },
    command: c.command,
    mounts: (c.mounts ?? []).map((m) => ({
      containerPath: m.containerPath,
      hostPath: m.hostPath,
      readonly: m.readonly ?? false,
      propagation: m.propagation,
      ...(m.recursiveReadOnly ? { recursiveReadOnly: true } : {}),
    })),
    labels: { 'io.kubernetes.container.name': c.name, ...podLabels(pod, uid) },
    linux: {
      securityContext: {
        privileged: c.privileged ?? false,
        namespaceOptions: namespaceOptions(pod),
        ...(c.runAsUser !== undefined ? { runAsUser: { value: c.runAsUser } } : {}),
        ...(c.runAsGroup !== undefined ? { runAsGroup: { value: c.runAsGroup } } : {}),
        ...(c.supplementalGroups ? { supplementalGroups: c.supplementalGroups } : {}),
        // What a kubelet sends for procMount: Default (a runtime given none masks nothing).
        maskedPaths: [...MASKED_PATHS],
        readonlyPaths: [...READONLY_PROC_PATHS],
      },
    },
  };
}

/** Runs one pod: sandbox, then its containers, as kubelet's SyncPod does. */
export async function runPod(
  cri: LabRuntimeClient,
  spec: LabPodSpec,
  image: string,
  uid: string = randomUUID(),
): Promise<LabPod> {
  spec = {
    ...spec,
    containers: spec.containers.map((c) => ({
      ...c,
      ...(c.mounts ? { mounts: c.mounts.map((m) => materialise(m, uid)) } : {}),
    })),
  };
  const sbConfig = sandboxConfig(spec, uid);
  const sandboxId = await cri.runPodSandbox(sbConfig);
  const containers: { name: string; id: string }[] = [];
  for (const c of spec.containers) {
    const id = await cri.createContainer(sandboxId, containerConfig(spec, c, uid, image), sbConfig);
    await cri.startContainer(id);
    containers.push({ name: c.name, id });
  }
  return {
    namespace: spec.namespace ?? LAB_NAMESPACE,
    name: spec.name,
    uid,
    sandboxId,
    hostNetwork: spec.hostNetwork ?? false,
    containers,
    mounts: spec.containers.flatMap((c) => c.mounts ?? []),
  };
}

/** Stops and removes one sandbox and its containers. */
export async function removePod(cri: LabRuntimeClient, sandboxId: string): Promise<void> {
  const containers = (await cri.listContainers()).filter((c) => c.sandboxId === sandboxId);
  for (const c of containers) {
    await cri.stopContainer(c.id, 0);
    await cri.removeContainer(c.id);
  }
  await cri.stopPodSandbox(sandboxId);
  await cri.removePodSandbox(sandboxId);
}
