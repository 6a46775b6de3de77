import assert from 'node:assert/strict';
import type { NamespaceReport, ReportContainer } from '../src/report/types.js';

/**
 * Lookups in one scan's reports by pod name (`reports` is read when asked: suites fill it in
 * `before`); each fails with the pod's name when there is none.
 */
export function reportLookup(reports: () => ReadonlyMap<string, NamespaceReport>): {
  readonly report: (name: string) => NamespaceReport;
  /** The pod's first container. */
  readonly container: (name: string) => ReportContainer;
} {
  const report = (name: string): NamespaceReport => {
    const r = reports().get(name);
    assert.ok(r, `no report for ${name}`);
    return r;
  };
  return {
    report,
    container: (name) => {
      const c = report(name).report.containers[0];
      assert.ok(c, `${name}: no container`);
      return c;
    },
  };
}
