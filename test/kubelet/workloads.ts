/**
 * Workloads made the way users make them, through the API and the kubelet: the objects the
 * kubelet-cluster suite applies, and the static pod it drops into the kubelet's manifest dir.
 */
export const NS = 'shop';
export const HOST_PORT = 39280;
export const STATIC_PORT = 39281;
/** A hostPort of a pod on the pod network (NSR011), in NS and in the admin-listed namespace. */
export const MAPPED_PORT = 39282;
export const INFRA_MAPPED_PORT = 39284;
/** A second hostNetwork pod whose container is also called `server`. */
export const EDGE2_PORT = 39283;
/** The namespace whose pods the chart lets accept their own findings (acceptAnnotationsIn). */
export const INFRA_NS = 'infra';
/** A non-root user: what the restricted Pod Security Standard asks for (no NSR012). */
const NON_ROOT = { runAsUser: 65534, runAsNonRoot: true };
const ACCEPT_OWN_PORT = {
  'nsreport.dev/accept': 'NSR011',
  'nsreport.dev/accept-reason': 'the node port is how the appliance is reached',
};

/** A pod on the pod network mapping a host port, annotated to accept that finding itself. */
function mappedPortPod(namespace: string, port: number, img: Images): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'mapped', namespace, annotations: ACCEPT_OWN_PORT },
    spec: {
      securityContext: NON_ROOT,
      containers: [
        {
          name: 'web',
          image: img.busybox,
          command: ['/bin/httpd', '-f', '-p', '8080'],
          ports: [{ containerPort: 8080, hostPort: port }],
        },
      ],
    },
  };
}
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
    // A plain Deployment: default service-account token, a configMap, a secret, an emptyDir; a
    // non-root user as the restricted Pod Security Standard asks.
    workload(
      'Deployment',
      'web',
      {
        securityContext: NON_ROOT,
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
      spec: {
        securityContext: NON_ROOT,
        containers: [{ name: 'app', image: img.varrun, command: SLEEP }],
      },
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
    // /etc/cron.d read-only: what runs as root on the node, readable (NSR007 medium).
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cron-reader', namespace: NS },
      spec: {
        securityContext: NON_ROOT,
        containers: [
          {
            name: 'app',
            image: img.busybox,
            command: SLEEP,
            volumeMounts: [{ name: 'cron', mountPath: '/host/cron.d', readOnly: true }],
          },
        ],
        volumes: [{ name: 'cron', hostPath: { path: '/etc/cron.d', type: 'Directory' } }],
      },
    },
    // hostPort on the pod network (NSR011); its own acceptance annotation is not honoured here.
    mappedPortPod(NS, MAPPED_PORT, img),
    // … and is honoured in the namespace the admin lists.
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INFRA_NS } },
    mappedPortPod(INFRA_NS, INFRA_MAPPED_PORT, img),
    // A second hostNetwork pod with a container called `server`, beside the `edge` DaemonSet's.
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'edge2', namespace: NS },
      spec: {
        hostNetwork: true,
        containers: [
          {
            name: 'server',
            image: img.busybox,
            command: ['/bin/httpd', '-f', '-p', String(EDGE2_PORT)],
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
