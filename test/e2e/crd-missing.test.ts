import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kubectl } from '../lab/kube.js';

/** Last of the suite (it removes the CRD, and every report with it): audit without the CRD. */
const root = fileURLToPath(new URL('../../..', import.meta.url));
const kubeconfig = process.env.NSREPORT_CLUSTER_KUBECONFIG ?? '';

after(() => {
  kubectl(kubeconfig, ['apply', '-f', join(root, 'charts/nsreport/crds/')]);
});

test('audit on a cluster without the CRD: one clear line, exit 1', () => {
  kubectl(kubeconfig, ['delete', '-f', join(root, 'charts/nsreport/crds/'), '--wait=true']);
  const r = spawnSync(
    process.execPath,
    [join(root, 'dist/src/cli/main.js'), 'audit', '--kubeconfig', kubeconfig],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^nsreport: the NamespaceReport CRD \(namespacereports\.nsreport\.dev\) is not installed on https:\/\/127\.0\.0\.1:\d+: kubectl apply -f manifests\/crd\.yaml\n$/,
  );
});
