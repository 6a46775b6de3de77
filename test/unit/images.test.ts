import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createPodImages } from '../../src/agent/images.js';
import { inspect } from '../../src/inspect/inspect.js';
import { ApiError } from '../../src/k8s/errors.js';
import type { PodBinding } from '../../src/k8s/store.js';
import { createLogger } from '../../src/telemetry/log.js';
import { sample, sandbox, snapshot } from './snapshot.js';

const quiet = createLogger(
  'error',
  new Writable({
    write: (_c, _e, cb) => {
      cb();
    },
  }),
);

/** Two pods whose runtime named their images (CRI-O, containerd 1.x), and one that kept them. */
function pods() {
  const byRuntime = (name: string, uid: string) => {
    const c = sample('app', { sandboxId: `sb-${name}` });
    return sandbox(
      [
        {
          ...c,
          detail: c.detail && {
            ...c.detail,
            image: 'nsreport.test/pause:1',
            imageAsWritten: false,
          },
        },
      ],
      { name, id: `sb-${name}`, uid },
    );
  };
  return inspect(
    snapshot([
      byRuntime('web', 'u-web'),
      byRuntime('gone', 'u-gone'),
      sandbox([sample('kept', { sandboxId: 'sb-k' })], { name: 'kept', id: 'sb-k', uid: 'u-k' }),
    ]),
  );
}

test("a container's image is what its Pod spec says where the runtime only has a name of its own; read once per pod", async () => {
  const asked: string[] = [];
  const store = {
    podBinding(ns: string, name: string): Promise<PodBinding | null> {
      asked.push(name);
      if (name === 'gone') return Promise.resolve(null);
      return Promise.resolve({
        uid: `u-${name}`,
        node: 'n1',
        mirrorOf: '',
        images: { app: 'busybox:1.36' },
      });
    },
  };
  const images = createPodImages({ store, log: quiet });
  const [gone, kept, web] = await images.fill(pods());
  assert.equal(web?.containers[0]?.image, 'busybox:1.36');
  assert.equal(web?.containers[0]?.imageFromRuntime, undefined);
  assert.equal(
    gone?.containers[0]?.image,
    'nsreport.test/pause:1',
    'no Pod: the runtime name stays',
  );
  assert.equal(kept?.containers[0]?.image, 'busybox:1');
  assert.deepEqual(
    asked.sort(),
    ['gone', 'web'],
    'not asked for a pod whose runtime kept the name',
  );
  await images.fill(pods());
  assert.equal(asked.length, 2, 'once per pod');
});

test('a Pod of the same name that is another pod (new UID) gives nothing; an API outage stops the reads of that scan', async () => {
  let calls = 0;
  const other = createPodImages({
    store: {
      podBinding: () => {
        calls++;
        return Promise.resolve({
          uid: 'someone-else',
          node: 'n1',
          mirrorOf: '',
          images: { app: 'evil:1' },
        });
      },
    },
    log: quiet,
  });
  const filled = await other.fill(pods());
  assert.ok(filled.every((p) => p.containers.every((c) => c.image !== 'evil:1')));
  calls = 0;
  const down = createPodImages({
    store: {
      podBinding: () => {
        calls++;
        return Promise.reject(
          new ApiError({ kind: 'unreachable', status: null, detail: 'ECONNREFUSED' }),
        );
      },
    },
    log: quiet,
  });
  const same = await down.fill(pods());
  assert.equal(calls, 1, 'one failed read, not one per pod');
  assert.equal(
    same.find((p) => p.pod.name === 'web')?.containers[0]?.image,
    'nsreport.test/pause:1',
  );
});
