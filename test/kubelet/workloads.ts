/**
 * Workloads made the way users make them, through the API and the kubelet: the objects the
 * kubelet-cluster suite applies, and the static pod it drops into the kubelet's manifest dir.
 */
export const NS = 'shop';
export const HOST_PORT = 39280;
export const STATIC_PORT = 39281;
const SLEEP = ['/bin/sleep', 'infinity'];

/** The names the user writes, as a kubelet receives them. */
export interface Images {
  readonly busybox: string;
  /** busybox with /var/run -> /run, as in Debian and Ubuntu images. */
  readonly varrun: string;
}

const labels = (app: string): Record<string, string> => ({ app });

function workload(kind: string, name: string, pod: object, extra: object = {}): object {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: labels(name) },
      ...extra,
      template: { metadata: { labels: labels(name) }, spec: pod },
    },
  };
}

export function workloads(img: Images): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-config', namespace: NS },
      data: { 'app.conf': 'listen 8080\n' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-creds', namespace: NS },
      stringData: { password: 'not-a-secret' },
    },
    // A plain Deployment: default service-account token, a configMap, a secret, an emptyDir.
    workload(
      'Deployment',
      'web',
      {
        containers: [
          {
            name: 'app',
            image: img.busybox,
            command: SLEEP,
            volumeMounts: [
              { name: 'config', mountPath: '/etc/web' },
              { name: 'creds', mountPath: '/var/lib/web/creds', readOnly: true },
              { name: 'cache', mountPath: '/cache' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'web-config' } },
          { name: 'creds', secret: { secretName: 'web-creds' } },
          { name: 'cache', emptyDir: {} },
        ],
      },
      { replicas: 1 },
    ),
    workload(
      'StatefulSet',
      'db',
      { containers: [{ name: 'db', image: img.busybox, command: SLEEP }] },
      { replicas: 1, serviceName: 'db' },
    ),
    // A hostNetwork DaemonSet with a hostPort, like an ingress controller or a node exporter.
    workload('DaemonSet', 'edge', {
      hostNetwork: true,
      containers: [
        {
          name: 'server',
          image: img.busybox,
          command: ['/bin/httpd', '-f', '-p', String(HOST_PORT)],
          ports: [{ containerPort: HOST_PORT, hostPort: HOST_PORT }],
        },
      ],
    }),
    // /var/run -> /run in the image: the token is mounted at /run/secrets/…
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'debianish', namespace: NS },
      spec: { containers: [{ name: 'app', image: img.varrun, command: SLEEP }] },
    },
    // A CSI node plugin's shape: privileged, Bidirectional mount of a kubelet directory.
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'csi-node', namespace: NS },
      spec: {
        containers: [
          {
            name: 'plugin',
            image: img.busybox,
            command: SLEEP,
            securityContext: { privileged: true },
            volumeMounts: [
              {
                name: 'plugins',
                mountPath: '/var/lib/kubelet/plugins',
                mountPropagation: 'Bidirectional',
              },
            ],
          },
        ],
        volumes: [
          {
            name: 'plugins',
            hostPath: { path: '/var/lib/kubelet/plugins', type: 'DirectoryOrCreate' },
          },
        ],
      },
    },
    // A container that keeps restarting: an exited and a running container of one name.
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crashy', namespace: NS },
      spec: {
        containers: [
          { name: 'app', image: img.busybox, command: ['/bin/sh', '-c', 'sleep 3; exit 1'] },
        ],
      },
    },
  ];
}

/** A static pod, hostNetwork like kube-apiserver and etcd on kubeadm nodes. */
export function staticPod(img: Images): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'static-web',
      namespace: 'kube-system',
      labels: { tier: 'control-plane' },
    },
    spec: {
      hostNetwork: true,
      containers: [
        {
          name: 'server',
          image: img.busybox,
          command: ['/bin/httpd', '-f', '-p', `127.0.0.1:${STATIC_PORT}`],
        },
      ],
    },
  };
}
