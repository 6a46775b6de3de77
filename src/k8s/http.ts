/**
 * node:http and node:https by require, never by an ES import. An ES import of a built-in builds
 * its whole namespace, which runs every lazy getter: node:http's WebSocket, CloseEvent and
 * MessageEvent then load Node's bundled undici (0.75 MB of source, ~6 MiB of RSS in a bare Node 24),
 * which nsreport never uses. Types come from `import type`, which emits nothing.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const http = load('node:http') as typeof import('node:http');
export const https = load('node:https') as typeof import('node:https');
