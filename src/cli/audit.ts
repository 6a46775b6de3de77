import { createAudit, labelSelector, reaches } from '../audit/audit.js';
import { coverage } from '../audit/coverage.js';
import type { ClusterReader } from '../audit/reader.js';
import type { AuditConfig } from '../config/audit.js';
import { EXIT_FAILURE, EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { connectClusterReader } from '../k8s/cluster.js';
import { ApiError } from '../k8s/errors.js';
import type { CliIO } from './scan.js';
import { formatAudit } from './audit-output.js';
import { API_GROUP, PLURAL } from '../report/types.js';

export interface AuditIO extends CliIO {
  /** Whether stderr is a terminal (progress is shown only then). */
  readonly stderrIsTTY: boolean;
  /** Colors on stdout: a terminal, and NO_COLOR unset. */
  readonly color: boolean;
}

function explain(err: ApiError, server: string): string {
  switch (err.kind) {
    case 'crd-missing':
      return `the NamespaceReport CRD (${PLURAL}.${API_GROUP}) is not installed on ${server}: kubectl apply -f manifests/crd.yaml`;
    case 'forbidden':
    case 'unauthorized':
      return `not allowed to list ${PLURAL} on ${server} (${err.kind}): ${err.message}`;
    case 'unreachable':
    case 'timeout':
      return `cannot reach the API server at ${server}: ${err.message}`;
    default:
      return err.message;
  }
}

/**
 * The audit's filters and the label selector sent to the server. The severity label leaves
 * accepted findings out: with --include-accepted the floor is applied to each report instead.
 */
function plan(config: AuditConfig): { audit: ReturnType<typeof createAudit>; selector: string } {
  const clientSide = config.includeAccepted;
  return {
    audit: createAudit({
      findings: config.findings,
      includeAccepted: clientSide,
      minSeverity: clientSide ? config.minSeverity : null,
    }),
    selector: labelSelector({
      hostNetwork: config.hostNetwork,
      node: config.node,
      minSeverity: clientSide ? null : config.minSeverity,
    }),
  };
}

/** `nsreport audit` (and `kubectl nsreport audit`). */
export async function runAudit(config: AuditConfig, io: AuditIO): Promise<number> {
  let reader: ClusterReader;
  try {
    reader = await connectClusterReader({
      kubeconfig: config.kubeconfig,
      context: config.context,
      timeoutMs: config.requestTimeoutMs,
    });
  } catch (err) {
    io.stderr(`nsreport: kubeconfig: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
  const { audit, selector } = plan(config);
  let pages = 0;
  try {
    await reader.eachReportPage(
      { namespace: config.namespace, labelSelector: selector, pageSize: config.pageSize },
      (items) => {
        for (const r of items) audit.add(r);
        pages++;
        if (io.stderrIsTTY && pages > 1)
          io.stderr(`\rnsreport: ${audit.reports} reports read (${pages} pages)`);
      },
    );
    if (io.stderrIsTTY && pages > 1) io.stderr('\n');
    // With only node/hostNetwork narrowing, the list holds every hostNetwork report in scope.
    const complete =
      config.minSeverity === null && config.findings.length === 0 && !config.hostNetwork;
    const result = audit.result(await coverage(reader, config, audit.rows, complete));
    io.stdout(formatAudit(result, { output: config.output, color: io.color }));
    return config.failOn !== null && reaches(result, config.failOn) ? EXIT_FAIL_ON : EXIT_OK;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr(`nsreport: ${explain(err, reader.server)}\n`);
    return EXIT_FAILURE;
  }
}
