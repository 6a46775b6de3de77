import { ApiError } from '../../src/k8s/errors.js';
import {
  storedReport,
  type ReportCache,
  type PodBinding,
  type ReportStore,
  type StoredReport,
  type WatchHandlers,
} from '../../src/k8s/store.js';
import type { NamespaceReport } from '../../src/report/types.js';

/**
 * In-memory API server for one node's reports (unit test double; the e2e suite runs the real
 * kube-apiserver): resourceVersions, UIDs, preconditions, and a watch that is always current.
 */
export function memoryStore(initial: NamespaceReport[] = []): ReportStore & {
  objects: Map<string, Raw>;
  log: string[];
  down: boolean;
  nodes: Map<string, string>;
  /** The API's Pods by namespace/name: where each is bound. */
  pods: Map<string, PodBinding>;
  /** What someone else does: the watch sees it. */
  edit(k: string, fn: ((o: Raw) => Raw) | null): void;
} {
  let rv = 0;
  let uid = 0;
  const objects = new Map<string, Raw>();
  const log: string[] = [];
  const watchers: WatchHandlers[] = [];
  const unreachable = (): ApiError =>
    new ApiError({ kind: 'unreachable', status: null, detail: 'ECONNREFUSED' });
  const conflict = (): ApiError => new ApiError({ kind: 'conflict', status: 409, detail: 'rv' });
  /**
   * Labels set by someone else (edit), as server-side apply keeps them: an apply that names one
   * takes it over; one it does not name stays.
   */
  const foreign = new Map<string, Set<string>>();
  const put = (o: NamespaceReport, keepUid?: string): void => {
    const k = `${o.metadata.namespace}/${o.metadata.name}`;
    const theirs = foreign.get(k) ?? new Set<string>();
    for (const l of Object.keys(o.metadata.labels)) theirs.delete(l);
    const kept = Object.fromEntries(
      [...theirs].flatMap((l) => {
        const v = objects.get(k)?.metadata.labels[l];
        return v === undefined ? [] : [[l, v]];
      }),
    );
    objects.set(k, {
      ...structuredClone(o),
      metadata: {
        ...structuredClone(o.metadata),
        labels: { ...kept, ...o.metadata.labels },
        uid: keepUid ?? `u${++uid}`,
        resourceVersion: String(++rv),
      },
    });
  };
  for (const o of initial) put(o);
  const notify = (): void => {
    for (const w of watchers) w.onChange();
  };
  const store = {
    objects,
    log,
    down: false,
    nodes: new Map<string, string>(),
    pods: new Map<string, PodBinding>(),
    edit(k: string, fn: ((o: Raw) => Raw) | null) {
      const o = objects.get(k);
      if (!o) return;
      if (fn === null) objects.delete(k);
      else {
        const edited = fn(structuredClone(o));
        const theirs = foreign.get(k) ?? new Set<string>();
        for (const [l, v] of Object.entries(edited.metadata.labels))
          if (o.metadata.labels[l] !== v) theirs.add(l);
        foreign.set(k, theirs);
        objects.set(k, {
          ...edited,
          metadata: { ...edited.metadata, resourceVersion: String(++rv) },
        });
      }
      notify();
    },
    watchNodeReports(node: string, handlers: WatchHandlers): ReportCache {
      watchers.push(handlers);
      const mine = (): StoredReport[] =>
        [...objects.values()]
          .map((o) => storedReport(o))
          .filter((r): r is StoredReport => r !== null && r.nodeLabel === node);
      return {
        synced: true,
        get: (ns: string, name: string) =>
          mine().find((r) => r.namespace === ns && r.name === name),
        list: mine,
      };
    },
    get(ns: string, name: string) {
      if (store.down) return Promise.reject(unreachable());
      const o = objects.get(`${ns}/${name}`);
      return Promise.resolve(o ? storedReport(o) : null);
    },
    apply(r: NamespaceReport, precondition: string | null) {
      if (store.down) return Promise.reject(unreachable());
      const k = `${r.metadata.namespace}/${r.metadata.name}`;
      const old = objects.get(k);
      if (precondition !== null && old?.metadata.resourceVersion !== precondition)
        return Promise.reject(conflict());
      log.push(`apply ${k}`);
      put(r, old?.metadata.uid);
      notify();
      return Promise.resolve();
    },
    remove(s: StoredReport) {
      if (store.down) return Promise.reject(unreachable());
      const k = `${s.namespace}/${s.name}`;
      const old = objects.get(k);
      if (!old) return Promise.resolve();
      if (old.metadata.uid !== s.uid || old.metadata.resourceVersion !== s.resourceVersion)
        return Promise.reject(conflict());
      log.push(`delete ${k}`);
      objects.delete(k);
      notify();
      return Promise.resolve();
    },
    nodeUid: (node: string) => Promise.resolve(store.nodes.get(node) ?? null),
    podBinding: (ns: string, name: string) =>
      store.down
        ? Promise.reject(unreachable())
        : Promise.resolve(store.pods.get(`${ns}/${name}`) ?? null),
    // OpenReports: not used by these tests (the agent runs without --openreports).
    watchOpenReports: () => ({ synced: true, get: () => undefined, list: () => [] }),
    applyOpenReport: () => Promise.reject(new Error('not in this fake')),
    removeOpenReport: () => Promise.reject(new Error('not in this fake')),
    ping: () => (store.down ? Promise.reject(unreachable()) : Promise.resolve()),
  };
  return store;
}

export type Raw = NamespaceReport & { metadata: { uid: string; resourceVersion: string } };
