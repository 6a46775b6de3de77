/**
 * The lab's CRI write path: the RuntimeService calls a kubelet makes (RunPodSandbox,
 * CreateContainer, StartContainer, Stop*, Remove*), over nsreport's own CRI connection. Test-only:
 * nsreport itself only reads, and this file is not in the image.
 */
import { connectCri, runtimeClient, type CriClientOptions } from '../../src/cri/client.js';
import type { RuntimeClient } from '../../src/cri/types.js';
import type { WireMount, WireNamespaceOption, WirePodSandboxMetadata } from '../../src/cri/wire.js';

/** Requests of the write path, in proto-loader's camelCase (cri-subset.proto). */
export interface WireSandboxConfig {
  metadata: WirePodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: Partial<WireNamespaceOption>; privileged?: boolean };
  };
}

export interface WireContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string; userSpecifiedImage?: string };
  command?: string[];
  args?: string[];
  mounts?: Partial<WireMount>[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    securityContext?: {
      privileged?: boolean;
      namespaceOptions?: Partial<WireNamespaceOption>;
      runAsUser?: { value: number };
      runAsGroup?: { value: number };
      supplementalGroups?: number[];
      maskedPaths?: string[];
      readonlyPaths?: string[];
    };
  };
}

export interface LabRuntimeClient extends RuntimeClient {
  runPodSandbox(config: WireSandboxConfig): Promise<string>;
  createContainer(
    sandboxId: string,
    config: WireContainerConfig,
    sandbox: WireSandboxConfig,
  ): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
}

/** nsreport's RuntimeClient plus the calls that make and remove pods. */
export function createLabClient(
  endpoint: string,
  options: CriClientOptions = {},
): LabRuntimeClient {
  const conn = connectCri(endpoint, options);
  const call = conn.call;
  return {
    ...runtimeClient(conn),
    async runPodSandbox(config) {
      const r = await call<{ podSandboxId: string }>('RunPodSandbox', { config });
      return r.podSandboxId;
    },
    async createContainer(sandboxId, config, sandbox) {
      const r = await call<{ containerId: string }>('CreateContainer', {
        podSandboxId: sandboxId,
        config,
        sandboxConfig: sandbox,
      });
      return r.containerId;
    },
    async startContainer(id) {
      await call('StartContainer', { containerId: id });
    },
    async stopContainer(id, timeoutSeconds) {
      await call('StopContainer', { containerId: id, timeout: timeoutSeconds });
    },
    async removeContainer(id) {
      await call('RemoveContainer', { containerId: id });
    },
    async stopPodSandbox(id) {
      await call('StopPodSandbox', { podSandboxId: id });
    },
    async removePodSandbox(id) {
      await call('RemovePodSandbox', { podSandboxId: id });
    },
  };
}
