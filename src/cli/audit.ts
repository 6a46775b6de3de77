import { errorText } from '../base/errors.js';
import { createAudit, reaches } from '../audit/audit.js';
import { coverage, readPods } from '../audit/coverage.js';
import type { ClusterReader } from '../audit/reader.js';
import type { AuditConfig } from '../config/audit.js';
import { EXIT_FAILURE, EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { connectClusterReader } from '../k8s/cluster.js';
import { ApiError } from '../k8s/errors.js';
import type { CliIO } from './io.js';
import { formatAudit } from './audit-output.js';
import { API_GROUP, PLURAL } from '../report/types.js';

export interface AuditIO extends CliIO {
  /** Whether stderr is a terminal (progress is shown only then). */
  readonly stderrIsTTY: boolean;
  /** Rewrites the progress line of a terminal's stderr (escaped, no newline: a stderr line ends it). */
  readonly progress: (line: string) => void;
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
    case 'malformed':
      return `${server} does not answer as a Kubernetes API server: ${err.message}`;
    default:
      return `the API server at ${server} failed: ${err.message}`;
  }
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
    io.stderr(`nsreport: ${errorText(err)}`);
    return EXIT_USAGE;
  }
  let pages = 0;
  // Progress for a person at a terminal; nothing for a pipe, nor beside the data of -o json.
  const progress = io.stderrIsTTY && config.output !== 'json';
  try {
    // Every Pod first, then every report held against its Pod: nothing is filtered on a
    // report's labels, which anyone may have edited (audit.ts, integrity.ts).
    const pods = await readPods(reader, config);
    const audit = createAudit(
      {
        findings: config.findings,
        includeAccepted: config.includeAccepted,
        minSeverity: config.minSeverity,
        hostNetwork: config.hostNetwork,
        node: config.node,
      },
      pods,
    );
    await reader.eachReportPage(
      { namespace: config.namespace, labelSelector: '', pageSize: config.pageSize },
      (items) => {
        for (const r of items) audit.add(r);
        pages++;
        if (progress && pages > 1)
          io.progress(`nsreport: ${audit.reports} reports read (${pages} pages)`);
      },
    );
    if (progress && pages > 1) io.stderr(''); // ends the progress line
    const result = audit.result(await coverage(reader, config, pods, audit.tally));
    io.stdout(formatAudit(result, { output: config.output, color: io.color }));
    return config.failOn !== null && reaches(result, config.failOn) ? EXIT_FAIL_ON : EXIT_OK;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr(`nsreport: ${explain(err, reader.server)}`);
    return EXIT_FAILURE;
  }
}
