import { normalisePath } from './kubelet-paths.js';
import type { Finding } from './types.js';

/**
 * Host paths that give a container the node, in both directions of a finding that people act on.
 * Built from the Pod Security Standards' hostPath guidance, Kubescape's "Writable hostPath mount"
 * and "Container runtime socket mounted" controls, Falco's sensitive-mount rule list, the CIS
 * Kubernetes Benchmark's node files, and the known escape routes through a writable host path
 * (a uid-0 account in /etc/passwd, a cron job, a systemd unit or a connect to systemd's bus, a
 * kernel module or modprobe configuration, the k3s and containerd state and configuration).
 * Each entry: a predicate on the normalised host path (a tree matches what is under it and what
 * holds it), the severity when mounted writable, and when read-only (null: not a finding
 * read-only).
 */
interface SensitivePath {
  readonly matches: (p: string) => boolean;
  readonly writable: Finding['severity'];
  readonly readOnly: Finding['severity'] | null;
}

const exact =
  (...paths: string[]): ((p: string) => boolean) =>
  (p) =>
    paths.includes(p);
/**
 * A listed tree, anything under it, and anything above it: a mount of `/run` holds
 * `/run/containerd`, so it is as sensitive as the socket directory (both directions).
 */
const under =
  (...trees: string[]): ((p: string) => boolean) =>
  (p) =>
    trees.some((t) => p === t || p.startsWith(`${t}/`) || (p !== '/' && t.startsWith(`${p}/`)));

const SENSITIVE: readonly SensitivePath[] = [
  // The whole host, or a runtime socket or its directory (a connect needs no write mount; the
  // directory also holds the socket a restarted runtime makes): control of every container.
  {
    matches: (p) =>
      p === '/' ||
      /(^|\/)(containerd\.sock|crio\.sock|docker\.sock|cri-dockerd\.sock|dockershim\.sock|podman\.sock)$/.test(
        p,
      ) ||
      under(
        '/run/containerd',
        '/run/crio',
        '/run/docker',
        '/run/k3s',
        '/run/podman',
        // systemd's private bus and the system D-Bus: a connect (read-only mounts allow it) as
        // uid 0 starts units as the node's root (`systemd-run`, org.freedesktop.systemd1).
        '/run/systemd/private',
        '/run/dbus/system_bus_socket',
      )(p),
    writable: 'critical',
    readOnly: 'critical',
  },
  // Memory and raw block devices: the node's memory and disks.
  {
    matches: (p) =>
      exact('/dev/mem', '/dev/kmem', '/dev/port')(p) ||
      /^\/dev\/(sd|vd|xvd|hd|nvme|mmcblk|dm-|loop|mapper\/|disk\/)/.test(p),
    writable: 'critical',
    readOnly: 'high',
  },
  // Credentials and what runs as root on the node (login, sudo, cron, ssh), and the state of the
  // kubelet, the runtimes and etcd.
  {
    matches: (p) =>
      under(
        '/etc/shadow',
        '/etc/gshadow',
        '/etc/sudoers',
        '/etc/sudoers.d',
        '/etc/cron.d',
        '/etc/crontab',
        '/etc/cron.hourly',
        '/etc/cron.daily',
        '/etc/cron.weekly',
        '/etc/cron.monthly',
        '/var/spool/cron',
        '/etc/containerd',
        '/etc/crio',
        '/var/lib/rancher/k3s',
        '/etc/rancher',
        '/etc/ssh',
        '/etc/pam.d',
        '/etc/systemd',
        '/etc/ld.so.preload',
        '/etc/kubernetes',
        '/root',
        '/boot',
        '/proc',
        '/sys',
        '/dev',
        '/var/lib/kubelet',
        '/var/lib/containerd',
        '/var/lib/docker',
        '/var/lib/containers',
        '/var/lib/etcd',
      )(p) || /^\/home\/[^/]+\/\.ssh(\/|$)/.test(p),
    writable: 'high',
    readOnly: 'medium',
  },
  // Whole system directories.
  {
    matches: exact('/etc', '/home', '/var', '/var/lib', '/var/log', '/usr', '/lib'),
    writable: 'high',
    readOnly: 'medium',
  },
  // System binaries and libraries, the CNI plugins and their configuration (the runtime runs
  // them as root for every new pod), the accounts (a uid 0 line in /etc/passwd), systemd units,
  // kernel modules and what modprobe runs: writable, they are what the node runs next; reading
  // them gives nothing away.
  {
    matches: under(
      '/etc/passwd',
      '/etc/group',
      '/lib/systemd/system',
      '/usr/lib/systemd/system',
      '/lib/modules',
      '/usr/lib/modules',
      '/etc/modprobe.d',
      '/opt/cni/bin',
      '/etc/cni',
      '/bin',
      '/sbin',
      '/usr/bin',
      '/usr/sbin',
      '/usr/local/bin',
      '/usr/local/sbin',
      '/usr/lib',
      '/usr/libexec',
      '/lib64',
    ),
    writable: 'high',
    readOnly: null,
  },
];

/** Severity of mounting `hostPath` into a container, or null when it is not sensitive. */
export function sensitivity(hostPath: string, readOnly: boolean): Finding['severity'] | null {
  // /var/run is /run on every distribution with systemd (FHS 3.0: a compatibility link).
  const p = normalisePath(hostPath).replace(/^\/var\/run(?=\/|$)/, '/run');
  const rule = SENSITIVE.find((r) => r.matches(p));
  if (!rule) return null;
  return readOnly ? rule.readOnly : rule.writable;
}
