import { errorText } from '../base/errors.js';
import { existsSync, readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import type { AgentOptions, RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { createRequire } from 'node:module';
import { http, https } from './http.js';

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
  readonly agent: Agent;
  /** The Authorization header of the next request, or null. */
  authorization(): Promise<string | null>;
  /** The server refused the credentials (401): read them again before the next request. */
  refresh(): void;
  /** The context's namespace (kubectl's default for a namespaced name), when it names one. */
  readonly namespace?: string;
}

/**
 * A file a kubeconfig or the service account names: its content, or an error that says which
 * file and why in one line ("kubeconfig /x: no such file").
 */
function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : firstLine(err);
    throw new Error(what ? `${what} ${path}: ${why}` : why);
  }
}

/** The first line of an error's message (YAML and TLS errors go on for lines). */
export function firstLine(err: unknown): string {
  const text = errorText(err);
  return text.trim().split('\n')[0]?.trim() ?? '';
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
        try {
          token = readFile(path, 'token file').toString('utf8').trim();
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        readAt = Date.now();
      }
      return Promise.resolve(token ? `Bearer ${token}` : null);
    },
    refresh() {
      token = null;
    },
  };
}

/**
 * Certificates and keys parsed once, when the connection is made: a file that is not PEM, or a
 * key that is not the certificate's, is a problem of the kubeconfig, said as such, not a TLS
 * error at the first request.
 */
function checkTls(tls: AgentOptions): void {
  const ca = tls.ca;
  if (ca !== undefined && !Array.isArray(ca)) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new Error(`certificate-authority: not a PEM certificate (${firstLine(err)})`);
    }
  }
  if (tls.cert === undefined && tls.key === undefined) return;
  try {
    createSecureContext({ cert: tls.cert, key: tls.key });
  } catch (err) {
    throw new Error(`client-certificate and client-key: not usable (${firstLine(err)})`);
  }
}

/** The keep-alive agent of a server (its TLS settings checked). */
export function makeAgent(server: URL, tls: AgentOptions): Agent {
  const common = { keepAlive: true, maxSockets: 4 };
  if (server.protocol === 'http:') return new http.Agent(common);
  checkTls(tls);
  return new https.Agent({ ...common, ...tls });
}

/** The API server's URL; only https and http are spoken. */
function serverUrl(text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${where}: server ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`${where}: server ${url.href} is not https:// (or http://)`);
  return url;
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its CA and its rotating token. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): Connection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error('not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  const server = serverUrl(
    `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    'KUBERNETES_SERVICE_HOST/PORT',
  );
  const agent = makeAgent(server, {
    ca: readFile(join(SERVICEACCOUNT_DIR, 'ca.crt'), 'service account CA'),
  });
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
function material(
  dir: string,
  field: string,
  o: { file: unknown; data: unknown },
): Buffer | undefined {
  const d = str(o.data);
  if (d) return Buffer.from(d, 'base64');
  const f = str(o.file);
  return f ? readFile(isAbsolute(f) ? f : join(dir, f), field) : undefined;
}

const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry of that name in one of the kubeconfig's lists (anything malformed is no entry). */
function pick(list: unknown, name: string, what: 'context' | 'cluster' | 'user'): Fields {
  const entries: unknown[] = Array.isArray(list) ? list : [];
  const hit = entries.find((e): e is Named<Fields> => isObject(e) && e.name === name);
  const body: unknown = hit?.[what];
  if (!isObject(body) && what === 'context')
    throw new Error(`context "${name}" is not in the kubeconfig`);
  if (!isObject(body)) throw new Error(`the kubeconfig has no ${what} "${name}"`);
  return body;
}

/** The kubeconfig file as YAML: a mapping, or an error that says why in one line. */
function readKubeconfig(path: string): KubeconfigFile {
  // yaml only when there is a kubeconfig to read (the in-cluster agent has none): ~8 MiB RSS.
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const text = readFile(path, '').toString('utf8');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`not YAML (${firstLine(err)})`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new Error('not a kubeconfig (not a YAML mapping)');
  return doc;
}

/** The current (or given) context's cluster and user, or null when they need client-node. */
function entries(
  path: string,
  context: string | null,
): { cluster: Fields; user: Fields; server: URL; namespace: string | undefined } | null {
  const doc = readKubeconfig(path);
  const ctxName = context ?? str(doc['current-context']);
  if (!ctxName) throw new Error('no current-context (pass --context)');
  const ctx = pick(doc.contexts, ctxName, 'context');
  const cluster = pick(doc.clusters, str(ctx.cluster) ?? '', 'cluster');
  const user = ctx.user === undefined ? {} : pick(doc.users, str(ctx.user) ?? '', 'user');
  if (Object.keys(cluster).some((k) => !CLUSTER_FIELDS.has(k))) return null;
  if (Object.keys(user).some((k) => !USER_FIELDS.has(k))) return null;
  const server = str(cluster.server);
  if (!server) throw new Error(`cluster "${str(ctx.cluster)}" has no server`);
  return {
    cluster,
    user,
    server: serverUrl(server, `cluster "${str(ctx.cluster)}"`),
    namespace: str(ctx.namespace) || undefined,
  };
}

/** A bearer token: from a file read again every minute, or as written. */
function tokenAuth(user: Fields, dir: string): Pick<Connection, 'authorization' | 'refresh'> {
  const file = str(user.tokenFile);
  if (file) {
    const path = isAbsolute(file) ? file : join(dir, file);
    // Read once now: a file that is not there is the kubeconfig's problem, not the API's.
    readFile(path, 'tokenFile');
    return fileToken(path);
  }
  const token = str(user.token);
  const header = token ? `Bearer ${token}` : null;
  return { authorization: () => Promise.resolve(header), refresh: () => undefined };
}

/** What one kubeconfig file says, or null when it needs client-node (exec, auth-provider, …). */
function simpleConnection(path: string, context: string | null): Connection | null {
  const e = entries(path, context);
  if (e === null) return null;
  const { cluster, user, server, namespace } = e;
  const dir = dirname(path);
  const servername = str(cluster['tls-server-name']);
  const agent = makeAgent(server, {
    ca: material(dir, 'certificate-authority', {
      file: cluster['certificate-authority'],
      data: cluster['certificate-authority-data'],
    }),
    cert: material(dir, 'client-certificate', {
      file: user['client-certificate'],
      data: user['client-certificate-data'],
    }),
    key: material(dir, 'client-key', { file: user['client-key'], data: user['client-key-data'] }),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ...(servername ? { servername } : {}),
  });
  return {
    server: server.href.replace(/\/+$/, ''),
    agent,
    ...tokenAuth(user, dir),
    ...(namespace ? { namespace } : {}),
  };
}

/** How long a credential plugin may take when the caller gives no deadline. */
const DEFAULT_CREDENTIALS_TIMEOUT_MS = 30_000;

/**
 * Rejects when `work` takes longer than `ms`: an exec credential plugin that waits for a login
 * or hangs would otherwise hold the command forever (client-node gives it no deadline). The
 * plugin itself is left to end; the one-shot commands exit without waiting for it.
 */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not answer within ${ms / 1000}s`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

type KubeConfig = import('@kubernetes/client-node').KubeConfig;

/** Whose credentials client-node fetches, for messages: `exec plugin "aws"`, or the user's name. */
function credentialSource(kc: KubeConfig): string {
  const user = kc.getCurrentUser();
  const exec: unknown = user?.exec;
  const command = isObject(exec) ? exec.command : undefined;
  if (typeof command === 'string') return `the exec credential plugin ${JSON.stringify(command)}`;
  return `the credentials of user ${JSON.stringify(user?.name ?? '')}`;
}

/** The options client-node applies for a request, within the deadline, errors in one line. */
async function applied(kc: KubeConfig, o: RequestOptions, timeoutMs: number): Promise<void> {
  const what = credentialSource(kc);
  try {
    await within(kc.applyToHTTPSOptions(o), timeoutMs, what);
  } catch (err) {
    // client-node parses the plugin's output unchecked: JSON that is not an ExecCredential
    // surfaces as a SyntaxError or a TypeError.
    const junk = err instanceof SyntaxError || err instanceof TypeError;
    const line = junk ? 'its output is not an ExecCredential (JSON with a status)' : firstLine(err);
    throw new Error(
      line.includes('did not answer') ? line : `${what} failed${line ? `: ${line}` : ''}`,
    );
  }
}

/** The kubeconfig files merged by client-node, its errors in one line naming the file. */
async function loadKubeConfig(files: string[]): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  files.forEach((f, i) => {
    readFile(f, files.length > 1 ? 'file' : '');
    const one = i === 0 ? kc : new KubeConfig();
    try {
      one.loadFromFile(f);
    } catch (err) {
      throw new Error(`${files.length > 1 ? `${f}: ` : ''}not a kubeconfig (${firstLine(err)})`);
    }
    if (one !== kc) kc.mergeConfig(one);
  });
  return kc;
}

/** Everything else a kubeconfig can say, through client-node (loaded only for this). */
async function clientNodeConnection(
  files: string[],
  context: string | null,
  timeoutMs: number,
): Promise<Connection> {
  const kc = await loadKubeConfig(files);
  if (context !== null) {
    if (!kc.getContexts().some((c) => c.name === context))
      throw new Error(`context "${context}" is not in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new Error('no cluster in the kubeconfig (set KUBECONFIG or pass --kubeconfig)');
  const server = serverUrl(cluster.server, `cluster "${cluster.name}"`);
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const tls: RequestOptions = {};
  await applied(kc, tls, timeoutMs);
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
      const o: RequestOptions & { headers: Record<string, string> } = { headers: {} };
      await applied(kc, o, timeoutMs);
      if (o.headers.Authorization) return o.headers.Authorization;
      return typeof o.auth === 'string' ? `Basic ${Buffer.from(o.auth).toString('base64')}` : null;
    },
    refresh: () => undefined,
    ...(namespace ? { namespace } : {}),
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
  /** Deadline of a credential plugin's answer (the caller's request timeout). */
  timeoutMs?: number;
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
  try {
    const simple = files.length === 1 ? simpleConnection(files[0] as string, context) : null;
    return (
      simple ??
      (await clientNodeConnection(files, context, o.timeoutMs ?? DEFAULT_CREDENTIALS_TIMEOUT_MS))
    );
  } catch (err) {
    // Every problem of a kubeconfig is said with the file(s) it is in, on one line.
    throw new Error(`kubeconfig ${files.join(delimiter)}: ${firstLine(err)}`);
  }
}
