import { errorText } from '../base/errors.js';
import type { VersionConfig } from '../config/version.js';
import { connectClusterReader } from '../k8s/cluster.js';
import { AGENT_SELECTOR } from '../report/types.js';
import { escaped } from './escape.js';
import type { CliIO } from './io.js';

/**
 * `nsreport version` (and `kubectl nsreport version`): this program's version on the first line,
 * then one line per agent DaemonSet of the cluster (its version label, image and rollout), like
 * `kubectl version` shows client and server. The cluster part never fails the command: without a
 * kubeconfig or an answer it says why on stderr and exits 0.
 */
export async function runVersion(config: VersionConfig, own: string, io: CliIO): Promise<number> {
  io.stdout(escaped`nsreport ${own}\n`);
  if (config.client) return 0;
  try {
    const reader = await connectClusterReader({
      kubeconfig: config.kubeconfig,
      context: config.context,
      timeoutMs: config.requestTimeoutMs,
    });
    const daemonSets = await reader.agentDaemonSets();
    if (daemonSets === null) {
      io.stderr('nsreport: agents: not allowed to list DaemonSets');
      return 0;
    }
    if (daemonSets.length === 0)
      io.stdout(escaped`agents: none (no DaemonSet ${AGENT_SELECTOR})\n`);
    for (const ds of daemonSets) {
      // The DaemonSet's labels and image are anyone's who may edit it.
      io.stdout(
        escaped`agent ${ds.namespace}/${ds.name}: ${ds.version ?? 'unknown version'} (image ${ds.image ?? 'unknown'}), ${ds.ready ?? 0} of ${ds.desired ?? 0} ready\n`,
      );
    }
  } catch (err) {
    io.stderr(`nsreport: agents: not checked (${errorText(err)})`);
  }
  return 0;
}
