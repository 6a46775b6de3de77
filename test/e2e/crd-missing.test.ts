import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLUSTER, ROOT as root } from '../env.js';
import { kubectl } from '../lab/kube.js';
import { nsreport } from '../nsreport.js';

/** Last of the suite (it removes the CRD, and every report with it): audit without the CRD. */
const { kubeconfig } = CLUSTER;

after(() => {
  kubectl(kubeconfig, ['apply', '-f', join(root, 'charts/nsreport/crds/')]);
});

test('audit on a cluster without the CRD: one clear line, exit 1', () => {
  kubectl(kubeconfig, ['delete', '-f', join(root, 'charts/nsreport/crds/'), '--wait=true']);
  const r = nsreport(['audit', '--kubeconfig', kubeconfig]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^nsreport: the NamespaceReport CRD \(namespacereports\.nsreport\.dev\) is not installed on https:\/\/127\.0\.0\.1:\d+: kubectl apply -f manifests\/crd\.yaml\n$/,
  );
});
