/**
 * The floor of the agent's memory (bench/agent.ts): the fixed packages loaded as the agent loads
 * them, default metrics served over HTTP, no other work. Prints "ready" when listening.
 */
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';

const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');
const registry = new Registry();
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 }); // as the agent
const log = pino();
const channel = new grpc.Client('unix:///nonexistent', grpc.credentials.createInsecure());
const server = createServer((_req, res) => {
  void registry.metrics().then((text) => res.end(text));
});
server.listen(0, '127.0.0.1', () => {
  log.debug({ channel: channel.getChannel().getTarget() }, 'idle');
  process.stdout.write('ready\n');
});
