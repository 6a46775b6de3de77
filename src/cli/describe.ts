import { hostname } from 'node:os';
import { errorText } from '../base/errors.js';
import { checkReport, DESCRIBED_REPORT, readReport } from '../audit/integrity.js';
import type { DescribeConfig } from '../config/describe.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import { createCriClient } from '../cri/client.js';
import { CriError } from '../cri/errors.js';
import { buildReport } from '../report/report.js';
import type { DescribeReader } from '../k8s/cluster.js';
import type { NamespaceReport } from '../report/types.js';
import { formatDescription, type DescribeInput } from './describe-output.js';
import type { CliIO } from './io.js';
import { podWarnings, procRootOk, resolveEndpoint, scanPods } from './scan.js';

export interface DescribeIO extends CliIO {
  /** Colors on stdout: a terminal, and NO_COLOR unset. */
  readonly color: boolean;
}

/** Reports that read as nsreport writes them; the others cannot be told about. */
function readable(items: readonly unknown[]): NamespaceReport[] {
  return items.flatMap((o) => {
    const read = readReport(o, DESCRIBED_REPORT);
    return read.ok ? [read.report] : [];
  });
}

/** From the cluster: the report, held against its Pod, and its node's other reports. */
async function fromCluster(
  config: DescribeConfig,
  io: DescribeIO,
): Promise<Omit<DescribeInput, 'color'> | number> {
  const { connectDescribeReader } = await import('../k8s/cluster.js');
  const { ApiError } = await import('../k8s/errors.js');
  let reader;
  try {
    reader = await connectDescribeReader({
      kubeconfig: config.kubeconfig,
      context: config.context,
      timeoutMs: config.requestTimeoutMs,
    });
  } catch (err) {
    io.stderr(`nsreport: ${errorText(err)}`);
    return EXIT_USAGE;
  }
  const namespace = config.pod.namespace ?? reader.namespace ?? 'default';
  try {
    return await readFromCluster(reader, namespace, config.pod.name, io);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr(`nsreport: ${reader.server}: ${err.message}`);
    return EXIT_FAILURE;
  }
}

async function readFromCluster(
  reader: DescribeReader,
  namespace: string,
  name: string,
  io: DescribeIO,
): Promise<Omit<DescribeInput, 'color'> | number> {
  const ref = `${namespace}/${name}`;
  const object = await reader.report(namespace, name);
  if (object === null) {
    io.stderr(
      `nsreport: no NamespaceReport ${ref} on ${reader.server} (no such pod, or no agent on its node: nsreport audit shows which)`,
    );
    return EXIT_FAILURE;
  }
  const read = readReport(object, DESCRIBED_REPORT);
  if (!read.ok) {
    io.stderr(`nsreport: the NamespaceReport ${ref} cannot be told about: ${read.issue.message}`);
    return EXIT_FAILURE;
  }
  const pod = await reader.pod(namespace, name);
  const integrity = pod === 'forbidden' ? null : checkReport(read.report, pod ?? undefined);
  // The Pod says where it runs; a report may claim another node.
  const bound = pod !== 'forbidden' && pod !== null ? pod.node : '';
  const listed = await reader.nodeReports(bound || read.report.report.node);
  return {
    report: read.report,
    neighbours: listed === null ? null : readable(listed),
    source: { kind: 'cluster', server: reader.server, integrity },
  };
}

/** From this machine's runtime: every pod scanned now, the one asked for among them. */
async function fromHere(
  config: DescribeConfig,
  io: DescribeIO,
): Promise<Omit<DescribeInput, 'color'> | number> {
  if (!procRootOk(config.procRoot, io)) return EXIT_USAGE;
  const { endpoint, tried } = await resolveEndpoint(config.criEndpoint);
  if (endpoint === null) {
    io.stderr(
      `nsreport: no CRI runtime socket found (tried ${tried.join(', ')}): --local reads the runtime (pass --cri-endpoint)`,
    );
    return EXIT_FAILURE;
  }
  const runtime = createCriClient(endpoint, { timeoutMs: config.criTimeoutMs });
  let pods;
  try {
    pods = await scanPods({ ...config, nodeName: hostname() }, runtime, io);
  } finally {
    runtime.close();
  }
  const want = config.pod;
  const found = pods.find((p) => p.pod.namespace === want.namespace && p.pod.name === want.name);
  if (found === undefined) {
    io.stderr(
      `nsreport: pod ${want.namespace ?? ''}/${want.name} is not on this machine's runtime`,
    );
    return EXIT_FAILURE;
  }
  podWarnings([found], io);
  const reports = pods.map((p) => buildReport(p, null));
  const report = reports[pods.indexOf(found)] ?? buildReport(found, null);
  return { report, neighbours: reports, source: { kind: 'local' } };
}

/** `nsreport describe` (and `kubectl nsreport describe`). */
export async function runDescribe(config: DescribeConfig, io: DescribeIO): Promise<number> {
  let input;
  try {
    input = config.local ? await fromHere(config, io) : await fromCluster(config, io);
  } catch (err) {
    if (!(err instanceof CriError)) throw err;
    io.stderr(`nsreport: ${err.message}`);
    return EXIT_FAILURE;
  }
  if (typeof input === 'number') return input;
  io.stdout(formatDescription({ ...input, color: io.color }));
  return EXIT_OK;
}
