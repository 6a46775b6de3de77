/**
 * The kubelet's per-pod directory layout, `<root>/pods/<pod uid>/…` (k8s.io/kubernetes
 * pkg/kubelet/kubelet_getters.go, v1.34: getPodVolumeDir, getPodVolumeSubpathsDir,
 * getPodContainerDir; kubelet_pods.go: etc-hosts). The root varies (--root-dir, k3s, snaps), so
 * it is not assumed: any directory followed by `pods/<this pod's uid>/` is the pod's own.
 */

/** A volume the kubelet made for the pod, said by name and type instead of its host path. */
export interface KubeletVolume {
  /**
   * The volume plugin (`volumes/kubernetes.io~<type>/`: empty-dir, configmap, secret, projected,
   * downward-api, csi, …), or what else the kubelet keeps for the pod: `subpath` (a volume's
   * subPath), `etc-hosts`, `termination-log`, `pod-dir` (anything else under the pod's directory).
   */
  readonly type: string;
  /** The volume's name (for csi and other persistent volumes: the PV's); the container's for a termination log. */
  readonly name: string;
}

/** A host path with repeated slashes collapsed and no trailing slash (NSR007 and kubelet volumes). */
export function normalisePath(path: string): string {
  const p = path.replace(/\/+/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** Where the pod's own directory starts in a host path, or -1. */
function podDirEnd(source: string, podUid: string): number {
  if (!/^[0-9A-Za-z-]+$/.test(podUid)) return -1;
  const marker = `/pods/${podUid}/`;
  const at = source.indexOf(marker);
  return at > 0 ? at + marker.length : -1;
}

export function isOwnKubeletVolume(source: string, podUid: string): boolean {
  return podDirEnd(normalisePath(source), podUid) > 0;
}

/** What the first components under `pods/<uid>/` say, or null when no layout matches. */
function byLayout(first: string, second: string, third: string): KubeletVolume | null {
  switch (first) {
    case 'volumes':
      return second.includes('~') && third !== ''
        ? { type: second.slice(second.indexOf('~') + 1), name: third }
        : null;
    case 'volume-subpaths':
      return second !== '' ? { type: 'subpath', name: second } : null;
    case 'etc-hosts':
      return second === '' ? { type: 'etc-hosts', name: 'etc-hosts' } : null;
    case 'containers':
      return second !== '' ? { type: 'termination-log', name: second } : null;
    default:
      return null;
  }
}

/** The volume a host path under the pod's kubelet directory is, or null for any other path. */
export function kubeletVolume(source: string, podUid: string): KubeletVolume | null {
  const path = normalisePath(source);
  const end = podDirEnd(path, podUid);
  if (end < 0) return null;
  const [first = '', second = '', third = ''] = path.slice(end).split('/');
  return byLayout(first, second, third) ?? { type: 'pod-dir', name: path.slice(end) };
}
