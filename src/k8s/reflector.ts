import { sleep } from '../base/sleep.js';
import { toApiError, type ApiError } from './errors.js';
import { at, text, type JsonObject } from './json.js';
import { eachPage, type RestClient, type WatchEvent } from './rest.js';

/** What the API holds of one kind under a label selector, kept current by a list + watch. */
export interface Reflection<T> {
  /** True once the first complete list arrived (stays true through later relists). */
  readonly synced: boolean;
  get(namespace: string, name: string): T | undefined;
  list(): T[];
}

/** Why a watch restarted: its server side closed it, its resourceVersion expired, or an error. */
export type WatchRestart = 'closed' | 'expired' | 'error';

export interface WatchHandlers {
  /** Something the selection holds changed (added, modified, deleted, relisted). */
  onChange(): void;
  onRestart(reason: WatchRestart, err: ApiError | null): void;
}

export interface ReflectOptions<T> {
  /** Lists page by page (through the rate limiter). */
  readonly list: RestClient;
  /** Watches (not rate limited: one long request). */
  readonly watch: RestClient;
  /** The collection's path (every namespace). */
  readonly path: string;
  readonly labelSelector: string;
  readonly pageSize: number;
  /** Server-side timeout of one watch request (it is then resumed from its resourceVersion). */
  readonly watchTimeoutSeconds: number;
  /** First and largest delay before a failed list/watch is tried again. */
  readonly backoff: { readonly initial: number; readonly max: number };
  /** What is kept of an object the API holds, or null to skip it (anyone may write any shape). */
  readonly decode: (o: JsonObject) => (T & { namespace: string; name: string }) | null;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/**
 * client-go's reflector in little: list, then watch from the list's resourceVersion with
 * bookmarks; a watch the server ended is resumed from the last resourceVersion seen, a 410 Gone
 * (expired) or a failure relists (after a doubling backoff for failures). Runs until the signal
 * aborts.
 */
// eslint-disable-next-line max-lines-per-function -- a factory: its closure is the module
export function reflect<T>(
  o: ReflectOptions<T>,
  handlers: WatchHandlers,
  signal: AbortSignal,
): Reflection<T> {
  const cache = new Map<string, T>();
  let synced = false;

  /** List every page, replace the cache; the resourceVersion to watch from. */
  async function relist(): Promise<string> {
    const fresh = new Map<string, T>();
    let rv = '';
    await eachPage<JsonObject>(
      o.list,
      o.path,
      { labelSelector: o.labelSelector, limit: o.pageSize },
      (items, resourceVersion) => {
        for (const item of items) {
          const r = o.decode(item);
          if (r) fresh.set(key(r.namespace, r.name), r);
        }
        rv = resourceVersion || rv;
      },
    );
    cache.clear();
    for (const [k, v] of fresh) cache.set(k, v);
    handlers.onChange();
    return rv;
  }

  function apply(e: WatchEvent<JsonObject>): void {
    const r = o.decode(e.object);
    if (!r) return;
    if (e.type === 'DELETED') cache.delete(key(r.namespace, r.name));
    else cache.set(key(r.namespace, r.name), r);
    handlers.onChange();
  }

  /** Watch from rv until the server ends it; the last rv seen, or null after a 410. */
  async function watchFrom(rv: string): Promise<string | null> {
    let last: string | null = rv;
    await o.watch.watch<JsonObject>(
      o.path,
      {
        labelSelector: o.labelSelector,
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds: o.watchTimeoutSeconds,
      },
      (e: WatchEvent<JsonObject>) => {
        if (last === null) return;
        if (e.type === 'ERROR') {
          if (e.object.code === 410) last = null;
          else throw toApiError({ code: e.object.code, body: e.object });
          return;
        }
        last = text(at(e.object, 'metadata', 'resourceVersion')) || last;
        if (e.type !== 'BOOKMARK') apply(e);
      },
      signal,
    );
    return last;
  }

  // A function, not the property: TypeScript would take one read of it for all the loop.
  const stopped = (): boolean => signal.aborted;

  /** Relist, then watch until a 410; the server's ends of a watch just resume it. */
  async function listAndWatch(): Promise<void> {
    let rv: string | null = await relist();
    synced = true;
    while (!stopped() && rv !== null) {
      rv = await watchFrom(rv);
      if (!stopped()) handlers.onRestart(rv === null ? 'expired' : 'closed', null);
    }
  }

  async function run(): Promise<void> {
    let retryMs = o.backoff.initial;
    while (!stopped()) {
      try {
        await listAndWatch();
        retryMs = o.backoff.initial;
      } catch (err) {
        if (stopped()) return;
        handlers.onRestart('error', toApiError(err));
        await sleep(retryMs, signal);
        retryMs = Math.min(retryMs * 2, o.backoff.max);
      }
    }
  }
  void run();
  return {
    get synced() {
      return synced;
    },
    get: (namespace, name) => cache.get(key(namespace, name)),
    list: () => [...cache.values()],
  };
}
