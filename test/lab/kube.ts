import { execFileSync } from 'node:child_process';
import { LAB_NAMESPACE, type LabPodSpec } from './pods.js';

/**
 * The API side of the lab, as a kubelet-run cluster would have it: the Pod objects exist first
 * (bound to the lab's node), and their UIDs are given to the CRI sandboxes.
 */
export function podObject(spec: LabPodSpec, node: string, image: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: LAB_NAMESPACE },
    spec: {
      nodeName: node,
      hostNetwork: spec.hostNetwork ?? false,
      containers: spec.containers.map((c) => ({
        name: c.name,
        image,
        command: c.command,
        securityContext: {
          ...(c.privileged ? { privileged: true } : {}),
          ...(c.runAsUser !== undefined ? { runAsUser: c.runAsUser } : {}),
        },
      })),
    },
  };
}

export function kubectl(kubeconfig: string, args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
}

export interface AppliedObject {
  readonly kind: string;
  readonly metadata: { name: string; uid: string };
}

/** `kubectl apply` of objects (as one List on stdin); returns them as the API server stored them. */
export function applyObjects(kubeconfig: string, items: readonly object[]): AppliedObject[] {
  const out = kubectl(
    kubeconfig,
    ['apply', '-o', 'json', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  // kubectl prints a single applied object as itself, several as a List.
  const doc = JSON.parse(out) as AppliedObject | { items: AppliedObject[] };
  return 'items' in doc ? doc.items : [doc];
}

/** Creates the lab namespace and the Pod objects; returns pod name → UID. */
export function createPodObjects(
  kubeconfig: string,
  specs: readonly LabPodSpec[],
  node: string,
  image: string,
): Map<string, string> {
  const items = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LAB_NAMESPACE } },
    ...specs.map((s) => podObject(s, node, image)),
  ];
  return new Map(
    applyObjects(kubeconfig, items)
      .filter((i) => i.kind === 'Pod')
      .map((i) => [i.metadata.name, i.metadata.uid]),
  );
}
