import type {
  ContainerDetail,
  ContainerSummary,
  RuntimeClient,
  SandboxSummary,
} from '../../src/cri/types.js';

/** A RuntimeClient double that counts status calls (unit test only; the lab tests the real one). */
export function fakeRuntime(
  sandboxes: SandboxSummary[],
  containers: ContainerSummary[],
  details: Record<string, ContainerDetail | Error>,
): RuntimeClient & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (m: string): void => {
    calls[m] = (calls[m] ?? 0) + 1;
  };
  return {
    endpoint: 'fake',
    calls,
    version: () => Promise.resolve({ name: 'fake', version: '1', apiVersion: 'v1' }),
    listSandboxes: () => Promise.resolve(sandboxes),
    listContainers: () => Promise.resolve(containers),
    sandboxStatus: (id) => {
      count('PodSandboxStatus');
      return Promise.resolve({
        id,
        declared: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' },
        ips: [],
        portMappings: [],
      });
    },
    containerStatus: (id) => {
      count('ContainerStatus');
      const d = details[id];
      return d instanceof Error || d === undefined
        ? Promise.reject(d ?? new Error('no such'))
        : Promise.resolve(d);
    },
    watchEvents: () => Promise.resolve(),
    close: () => undefined,
  };
}
