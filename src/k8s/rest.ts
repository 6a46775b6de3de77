import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { ApiError, fromStatus, malformed, toApiError } from './errors.js';
import { at, type JsonObject } from './json.js';
import type { Connection } from './connection.js';
import { http, https } from './http.js';

export type Query = Record<string, string | number | boolean | undefined>;

/** One event of a watch stream (k8s.io/apimachinery pkg/apis/meta/v1 WatchEvent). */
export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
}

/** The few verbs nsreport uses, over the API server's REST paths. Errors are ApiError. */
export interface RestClient {
  readonly server: string;
  /** The deadline of a request (createRestClient's); a streamed list's longest silence. */
  readonly timeoutMs?: number;
  request: <T>(method: string, path: string, o?: RequestOptions) => Promise<T>;
  /**
   * Streams a watch until the server ends it (resolves) or it fails (rejects). Also ended by the
   * signal, and by a client-side deadline of `timeoutSeconds` + 30 s: a connection the server
   * silently lost is replaced rather than waited on forever.
   */
  watch: <T>(
    path: string,
    query: Query & { timeoutSeconds: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ) => Promise<void>;
}

/** A kind of object by its API group ('' for the core group), version and plural. */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** The REST path of a kind's objects: all, a namespace's, or one (namespaced or not). */
/** The discovery document of a resource's group version: `/api/v1`, `/apis/<group>/<version>`. */
export function groupVersionPath(kind: Resource): string {
  return kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
}

export function resourcePath(
  kind: Resource,
  at: { namespace?: string; name?: string } = {},
): string {
  const base = groupVersionPath(kind);
  const ns = at.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(at.namespace)}`;
  const name = at.name === undefined ? '' : `/${encodeURIComponent(at.name)}`;
  return `${base}${ns}/${kind.plural}${name}`;
}

/** An answer's JSON ({} for none); anything else is a malformed answer, never a SyntaxError. */
function parseJson(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(`the answer is not JSON: ${text.slice(0, 80)}`, err);
  }
}

function url(server: string, path: string, query: Query | undefined): URL {
  const u = new URL(server + path);
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
  return u;
}

// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function createRestClient(
  conn: Connection,
  o: { timeoutMs: number; userAgent: string },
): RestClient {
  async function send(
    method: string,
    u: URL,
    r: { body?: string; headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<IncomingMessage> {
    const { body, signal } = r;
    const auth = await conn.authorization();
    const lib = u.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        u,
        {
          method,
          agent: conn.agent,
          signal,
          headers: {
            Accept: 'application/json',
            'User-Agent': o.userAgent,
            ...(auth ? { Authorization: auth } : {}),
            ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}),
            ...r.headers,
          },
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async function readAll(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function attempt<T>(method: string, path: string, ro: RequestOptions): Promise<T | 401> {
    const body = ro.body === undefined ? undefined : JSON.stringify(ro.body);
    const headers: Record<string, string> =
      body !== undefined ? { 'Content-Type': ro.contentType ?? 'application/json' } : {};
    const signal = AbortSignal.timeout(o.timeoutMs);
    const res = await send(method, url(conn.server, path, ro.query), {
      ...(body !== undefined ? { body } : {}),
      headers,
      signal,
    });
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status === 401) return 401;
    if (status < 200 || status >= 300) throw fromStatus(status, text, null);
    return parseJson(text) as T;
  }

  return {
    server: conn.server,
    timeoutMs: o.timeoutMs,
    async request<T>(method: string, path: string, ro: RequestOptions = {}): Promise<T> {
      try {
        let r = await attempt<T>(method, path, ro);
        if (r === 401) {
          // A rotated token: read it again and try once more.
          conn.refresh();
          r = await attempt<T>(method, path, ro);
          if (r === 401) throw fromStatus(401, 'Unauthorized', null);
        }
        return r;
      } catch (err) {
        throw toApiError(err);
      }
    },
    async watch<T>(
      path: string,
      query: Query & { timeoutSeconds: number },
      onEvent: (e: WatchEvent<T>) => void,
      signal: AbortSignal,
    ): Promise<void> {
      const deadline = AbortSignal.any([
        signal,
        AbortSignal.timeout((query.timeoutSeconds + 30) * 1000),
      ]);
      try {
        const res = await send('GET', url(conn.server, path, { ...query, watch: true }), {
          signal: deadline,
        });
        const status = res.statusCode ?? 0;
        if (status === 401) conn.refresh();
        if (status < 200 || status >= 300) throw fromStatus(status, await readAll(res), null);
        // One JSON WatchEvent per line (the API server's streaming JSON serializer).
        for await (const line of createInterface({ input: res, crlfDelay: Infinity }))
          if (line.trim() !== '') onEvent(watchEvent<T>(line));
      } catch (err) {
        if (signal.aborted) return;
        throw toApiError(err);
      }
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line of a watch: a WatchEvent with a type and an object, else a malformed answer. */
function watchEvent<T>(line: string): WatchEvent<T> {
  const e = parseJson(line);
  if (!isObject(e) || typeof e.type !== 'string' || !isObject(e.object))
    throw malformed(`a watch event without a type and an object: ${line.slice(0, 80)}`);
  return e as unknown as WatchEvent<T>;
}

/**
 * A page of a list: its items (objects; null or none is an empty page), continue token and
 * resourceVersion; anything else is a malformed answer.
 */
function listPage(page: unknown): {
  items: Record<string, unknown>[];
  continue: string;
  resourceVersion: string;
} {
  if (!isObject(page)) throw malformed('a list answer that is not an object');
  const items = page.items ?? [];
  if (!Array.isArray(items) || !items.every(isObject))
    throw malformed('a list answer whose items are not a list of objects');
  const md = isObject(page.metadata) ? page.metadata : {};
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    items: items,
    continue: text(md.continue),
    resourceVersion: text(md.resourceVersion),
  };
}

/** Every page of a list (limit/continue), handed over one page at a time. */
// T says what the server's items are, unchecked, as JSON.parse's result is.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export async function eachPage<T>(
  rest: RestClient,
  path: string,
  query: Query & { limit: number },
  onPage: (items: T[], resourceVersion: string) => void,
): Promise<void> {
  let cont: string | undefined;
  do {
    const page = listPage(
      await rest.request<unknown>('GET', path, { query: { ...query, continue: cont } }),
    );
    onPage(page.items as T[], page.resourceVersion);
    // A continue token handed back unchanged would page forever (a server or proxy gone wrong).
    if (page.continue !== '' && page.continue === cont)
      throw malformed('a list whose continue token does not advance');
    cont = page.continue || undefined;
  } while (cont);
}

/** The annotation of the bookmark that ends a watch-list's initial events. */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';
/** Long enough for any list; the client's own deadline is 30 s more (`watch`). */
const WATCH_LIST_TIMEOUT_SECONDS = 3600;

/**
 * Every object of a list, in batches of `query.limit`, streamed from the API server's watch cache:
 * a watch with `sendInitialEvents=true` and `resourceVersionMatch=NotOlderThan` (the watch-list of
 * KEP-3157; k8s.io/apiserver v0.35 pkg/storage/cacher) sends each object as an ADDED event, then a
 * bookmark annotated `k8s.io/initial-events-end`. Neither side holds the whole list, and it is
 * consistent like a list without resourceVersion. Paging instead makes each continue a read of
 * etcd, where the API server decodes and re-encodes every custom object: ~3× its CPU and time at
 * 150,000 reports (docs/scale.md). A server that refuses it before sending anything (older than
 * 1.27, the WatchList gate off: 400/422; RBAC without `watch`: 403; its watch cache still being
 * built after a start: 429; a proxy that does not stream) is read page by page, which then says
 * what is wrong as a list does. A stream silent for the request timeout has failed.
 */
export async function eachListed(
  rest: RestClient,
  path: string,
  query: Query & { limit: number },
  onBatch: (items: JsonObject[]) => void,
): Promise<void> {
  const { limit, ...selectors } = query;
  const stop = new AbortController();
  const idleMs = rest.timeoutMs ?? 30_000;
  let lastEvent = performance.now();
  const idle = setInterval(() => {
    if (performance.now() - lastEvent > idleMs) stop.abort();
  }, idleMs / 4);
  let batch: JsonObject[] = [];
  /** Events seen, and whether the bookmark that ends the list came. */
  const seen = { events: 0, ended: false };
  /** What onBatch threw: the watch is stopped and it is thrown as it is. */
  const failed: { err?: unknown } = {};
  const hand = (): void => {
    const items = batch;
    batch = [];
    try {
      onBatch(items);
    } catch (err) {
      failed.err = err;
      stop.abort();
    }
  };
  try {
    await rest.watch<JsonObject>(
      path,
      {
        ...selectors,
        sendInitialEvents: true,
        allowWatchBookmarks: true,
        resourceVersionMatch: 'NotOlderThan',
        timeoutSeconds: WATCH_LIST_TIMEOUT_SECONDS,
      },
      (e) => {
        if (stop.signal.aborted) return;
        seen.events++;
        lastEvent = performance.now();
        if (e.type === 'ADDED') {
          batch.push(e.object);
          if (batch.length >= limit) hand();
        } else if (e.type === 'BOOKMARK') {
          const annotations = at(e.object, 'metadata', 'annotations');
          if (isObject(annotations) && annotations[INITIAL_EVENTS_END] === 'true') {
            seen.ended = true;
            stop.abort();
          }
        } else if (e.type === 'ERROR') {
          throw toApiError({ code: e.object.code, body: e.object });
        } else throw malformed(`a ${e.type} event before the end of a list`);
      },
      stop.signal,
    );
  } catch (err) {
    if (seen.events > 0) throw toApiError(err);
  } finally {
    clearInterval(idle);
  }
  // Nothing came (refused, silent, or not a watch): a list says what is wrong, as it always did.
  if (seen.events === 0) return eachPage<JsonObject>(rest, path, query, onBatch);
  if (!('err' in failed) && !seen.ended)
    throw stop.signal.aborted
      ? new ApiError({ kind: 'timeout', status: null, detail: `a list silent for ${idleMs} ms` })
      : malformed('a list that ended before all of it was sent');
  if (batch.length > 0) hand();
  if ('err' in failed) throw failed.err;
}
