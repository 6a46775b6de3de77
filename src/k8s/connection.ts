import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { createRequire } from 'node:module';

/**
 * Where the API server is and how to authenticate to it: what the agent and the audit need of a
 * kubeconfig. In-cluster credentials and kubeconfigs with certificates or tokens are read here
 * (a few KiB of code); anything else a kubeconfig can say (exec plugins, auth providers, proxies,
 * several files merged from $KUBECONFIG) is handed to @kubernetes/client-node, loaded only then:
 * its import alone costs ~80 MiB RSS, more than the rest of the agent (docs/design.md, "Speed and size").
 */
export interface Connection {
  /** Base URL of the API server, without a trailing slash. */
  readonly server: string;
  /** Keep-alive agent holding the TLS settings (cluster CA, client certificate). */
  readonly agent: http.Agent;
  /** The Authorization header of the next request, or null. */
  authorization(): Promise<string | null>;
  /** The server refused the credentials (401): read them again before the next request. */
  refresh(): void;
}

/** The service account's files, as the kubelet mounts them (k8s.io/client-go rest.InClusterConfig). */
export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * A token file read again when a minute old or after a 401: the kubelet rotates the projected
 * service account token (client-go transport/token_source.go NewCachedFileTokenSource: the same
 * minute).
 */
export function fileToken(
  path: string,
  maxAgeMs = 60_000,
): Pick<Connection, 'authorization' | 'refresh'> {
  let token: string | null = null;
  let readAt = 0;
  return {
    authorization() {
      if (token === null || Date.now() - readAt > maxAgeMs) {
        token = readFileSync(path, 'utf8').trim();
        readAt = Date.now();
      }
      return Promise.resolve(token ? `Bearer ${token}` : null);
    },
    refresh() {
      token = null;
    },
  };
}

function makeAgent(server: URL, tls: https.AgentOptions): http.Agent {
  const common = { keepAlive: true, maxSockets: 4 };
  return server.protocol === 'http:'
    ? new http.Agent(common)
    : new https.Agent({ ...common, ...tls });
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its CA and its rotating token. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): Connection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error('not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  const server = new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  const agent = makeAgent(server, { ca: readFileSync(join(SERVICEACCOUNT_DIR, 'ca.crt')) });
  return { server: server.origin, agent, ...fileToken(join(SERVICEACCOUNT_DIR, 'token')) };
}

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}
type Fields = Record<string, unknown>;
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<Fields>[];
  users?: Named<Fields>[];
  contexts?: Named<Fields>[];
}

/** The kubeconfig fields read here; a cluster or user with any other field goes to client-node. */
const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A file's content or base64 data, as a kubeconfig gives either (paths relative to the file). */
function material(dir: string, file: unknown, data: unknown): Buffer | undefined {
  const d = str(data);
  if (d) return Buffer.from(d, 'base64');
  const f = str(file);
  return f ? readFileSync(isAbsolute(f) ? f : join(dir, f)) : undefined;
}

function pick(list: Named<Fields>[] | undefined, name: string, what: string): Fields {
  const hit = (list ?? []).find((e) => e.name === name);
  const body = hit?.[what as 'cluster'];
  if (!body && what === 'context') throw new Error(`context "${name}" is not in the kubeconfig`);
  if (!body) throw new Error(`the kubeconfig has no ${what} "${name}"`);
  return body;
}

/** The current (or given) context's cluster and user, or null when they need client-node. */
function entries(
  path: string,
  context: string | null,
): { cluster: Fields; user: Fields; server: URL } | null {
  // yaml only when there is a kubeconfig to read (the in-cluster agent has none): ~8 MiB RSS.
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  const ctxName = context ?? str(doc['current-context']);
  if (!ctxName) throw new Error(`the kubeconfig ${path} has no current-context`);
  const ctx = pick(doc.contexts, ctxName, 'context');
  const cluster = pick(doc.clusters, str(ctx.cluster) ?? '', 'cluster');
  const user = ctx.user === undefined ? {} : pick(doc.users, str(ctx.user) ?? '', 'user');
  if (Object.keys(cluster).some((k) => !CLUSTER_FIELDS.has(k))) return null;
  if (Object.keys(user).some((k) => !USER_FIELDS.has(k))) return null;
  const server = str(cluster.server);
  if (!server) throw new Error(`cluster "${str(ctx.cluster)}" in ${path} has no server`);
  return { cluster, user, server: new URL(server) };
}

/** A bearer token: from a file read again every minute, or as written. */
function tokenAuth(user: Fields, dir: string): Pick<Connection, 'authorization' | 'refresh'> {
  const file = str(user.tokenFile);
  if (file) return fileToken(isAbsolute(file) ? file : join(dir, file));
  const token = str(user.token);
  const header = token ? `Bearer ${token}` : null;
  return { authorization: () => Promise.resolve(header), refresh: () => undefined };
}

/** What one kubeconfig file says, or null when it needs client-node (exec, auth-provider, …). */
function simpleConnection(path: string, context: string | null): Connection | null {
  const e = entries(path, context);
  if (e === null) return null;
  const { cluster, user, server } = e;
  const dir = dirname(path);
  const servername = str(cluster['tls-server-name']);
  const agent = makeAgent(server, {
    ca: material(dir, cluster['certificate-authority'], cluster['certificate-authority-data']),
    cert: material(dir, user['client-certificate'], user['client-certificate-data']),
    key: material(dir, user['client-key'], user['client-key-data']),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ...(servername ? { servername } : {}),
  });
  return { server: server.href.replace(/\/+$/, ''), agent, ...tokenAuth(user, dir) };
}

/** Everything else a kubeconfig can say, through client-node (loaded only for this). */
async function clientNodeConnection(files: string[], context: string | null): Promise<Connection> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(files[0] ?? '');
  for (const f of files.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(f);
    kc.mergeConfig(more);
  }
  if (context !== null) {
    if (!kc.getContexts().some((c) => c.name === context))
      throw new Error(`context "${context}" is not in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new Error('no cluster in the kubeconfig (set KUBECONFIG or pass --kubeconfig)');
  const server = new URL(cluster.server);
  const tls: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const agent = makeAgent(server, {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.servername ? { servername: tls.servername } : {}),
  });
  return {
    server: cluster.server.replace(/\/+$/, ''),
    agent,
    async authorization() {
      const o: https.RequestOptions & { headers: Record<string, string> } = { headers: {} };
      await kc.applyToHTTPSOptions(o);
      if (o.headers.Authorization) return o.headers.Authorization;
      return typeof o.auth === 'string' ? `Basic ${Buffer.from(o.auth).toString('base64')}` : null;
    },
    refresh: () => undefined,
  };
}

/** kubectl's kubeconfig files: --kubeconfig; else (when asked) $KUBECONFIG, ~/.kube/config. */
function kubeconfigFiles(path: string | null, defaults: boolean, env: NodeJS.ProcessEnv): string[] {
  if (path !== null) return [path];
  if (!defaults) return [];
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (listed.length > 0) return listed;
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/**
 * The connection of a kubeconfig file, with kubectl's rules when none is given: $KUBECONFIG (a
 * list merges, through client-node), ~/.kube/config, then in-cluster.
 */
export async function connect(o: {
  kubeconfig: string | null;
  context?: string | null;
  /** Without --kubeconfig: use $KUBECONFIG and ~/.kube/config (the audit) or not (the agent). */
  defaults?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<Connection> {
  const env = o.env ?? process.env;
  const context = o.context ?? null;
  const files = kubeconfigFiles(o.kubeconfig, o.defaults === true, env);
  if (files.length === 0) {
    if (context !== null) throw new Error(`context "${context}" needs a kubeconfig`);
    if (o.defaults === true && !env.KUBERNETES_SERVICE_HOST)
      throw new Error('no kubeconfig: set KUBECONFIG or pass --kubeconfig');
    return inClusterConnection(env);
  }
  const simple = files.length === 1 ? simpleConnection(files[0] as string, context) : null;
  return simple ?? clientNodeConnection(files, context);
}
