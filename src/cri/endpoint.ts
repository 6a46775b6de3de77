import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/** Where CRI runtimes listen, in the order nsreport tries them (docs/commands.md, `nsreport scan`). */
export const DEFAULT_CRI_ENDPOINTS: readonly string[] = [
  '/run/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/run/k3s/containerd/containerd.sock',
  '/var/run/cri-dockerd.sock',
];

/** `unix:///run/x.sock`, `unix:/run/x.sock` and `/run/x.sock` all name the socket /run/x.sock. */
export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:(\/\/)?/, '');
}

/** The grpc-js target for a socket path. */
export function grpcTarget(endpoint: string): string {
  return `unix://${socketPath(endpoint)}`;
}

export type EndpointProbe =
  | { readonly found: true; readonly endpoint: string }
  | { readonly found: false; readonly tried: readonly string[] };

/**
 * The first candidate that exists and is a socket. A socket we may not open still counts as
 * found: the caller then reports "permission denied" rather than "no runtime".
 */
export async function detectEndpoint(
  candidates: readonly string[] = DEFAULT_CRI_ENDPOINTS,
): Promise<EndpointProbe> {
  for (const candidate of candidates) {
    try {
      const st = await stat(socketPath(candidate));
      if (st.isSocket()) return { found: true, endpoint: candidate };
    } catch {
      // absent or unreachable path: try the next one
    }
  }
  return { found: false, tried: candidates };
}

/**
 * 'ok', or why the socket cannot be used before any gRPC is attempted (with what is at the path
 * instead, when something is).
 */
export async function checkSocket(
  endpoint: string,
): Promise<
  | { readonly state: 'ok' }
  | { readonly state: 'socket-missing' | 'permission-denied'; readonly detail: string }
> {
  const path = socketPath(endpoint);
  try {
    const st = await stat(path);
    if (!st.isSocket())
      return {
        state: 'socket-missing',
        detail: `not a socket: a ${st.isDirectory() ? 'directory' : 'file'}`,
      };
    await access(path, constants.R_OK | constants.W_OK);
    return { state: 'ok' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM'
      ? { state: 'permission-denied', detail: 'before connecting' }
      : { state: 'socket-missing', detail: 'before connecting' };
  }
}
