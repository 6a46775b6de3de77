import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

// By require: an ES import of node:http loads Node's bundled undici (see src/k8s/http.ts).
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface Probe {
  readonly ok: boolean;
  readonly reason: string;
}

export interface Probes {
  /** Process alive and its loop not stuck. */
  healthy(): Probe;
  /** CRI reachable, first scan done, API reachable. */
  ready(): Probe;
}

/** Parses `:9090`, `127.0.0.1:9090`, `[::1]:9090`; null when malformed. */
export function parseListenAddress(
  addr: string,
): { host: string | undefined; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  if (!m?.[3]) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

/** One HTTP server: /metrics, /healthz, /readyz. */
export async function startServer(
  addr: { host: string | undefined; port: number },
  registry: Registry,
  probes: Probes,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe =
      path === '/healthz' ? probes.healthy() : path === '/readyz' ? probes.ready() : null;
    if (probe) {
      res.writeHead(probe.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${probe.ok ? 'ok' : 'not ok'}: ${probe.reason}\n`);
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: try /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
