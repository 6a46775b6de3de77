/**
 * The lab's pods from the command line:
 *
 *   node dist/test/lab/cli.js create [--filler N [--filler-start I]] [--no-scenarios]
 *                                    [--kubeconfig F [--node NODE]]  (Pod objects first)
 *   node dist/test/lab/cli.js delete                                stop and remove every sandbox
 *
 * Reads NSREPORT_LAB_SOCKET, NSREPORT_LAB_IMAGE and NSREPORT_LAB_HOST_DIR (lab.sh's env file),
 * writes $NSREPORT_LAB_DIR/pods.json describing what it made.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLabClient } from './cri.js';
import { createPodObjects } from './kube.js';
import { fillerPods, removePod, runPod, scenarioPods } from './pods.js';

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: source the lab's env file (test/lab/lab.sh up DIR)`);
  return v;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      filler: { type: 'string', default: '0' },
      'filler-start': { type: 'string', default: '0' },
      'no-scenarios': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      node: { type: 'string', default: 'nsr-e2e-node' },
    },
  });
  const cri = createLabClient(env('NSREPORT_LAB_SOCKET'), { timeoutMs: 60_000 });
  try {
    if (positionals[0] === 'create') {
      const specs = [
        ...(values['no-scenarios']
          ? []
          : scenarioPods(env('NSREPORT_LAB_HOST_DIR'), env('NSREPORT_LAB_SOCKET'))),
        ...fillerPods(
          env('NSREPORT_LAB_HOST_DIR'),
          Number(values.filler),
          Number(values['filler-start']),
        ),
      ];
      const image = env('NSREPORT_LAB_IMAGE');
      // With a cluster, the Pod objects come first and lend their UIDs to the sandboxes.
      const uids = values.kubeconfig
        ? createPodObjects(values.kubeconfig, specs, values.node, image)
        : new Map<string, string>();
      const pods = await inBatches(specs, 4, (s) => runPod(cri, s, image, uids.get(s.name)));
      const file = join(env('NSREPORT_LAB_DIR'), 'pods.json');
      const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
      writeFileSync(file, JSON.stringify([...before, ...pods], null, 2));
      process.stderr.write(`lab: ${pods.length} pods running\n`);
    } else if (positionals[0] === 'delete') {
      const sandboxes = await cri.listSandboxes();
      await inBatches(sandboxes, 4, (s) => removePod(cri, s.id));
      process.stderr.write(`lab: ${sandboxes.length} pods removed\n`);
    } else {
      process.stderr.write('usage: pods.js create [--filler N] | delete\n');
      process.exitCode = 2;
    }
  } finally {
    cri.close();
  }
}

await main();
