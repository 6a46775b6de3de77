/**
 * The child process of resolver.ts: reads `{procRoot, pid, paths}` as JSON on stdin, resolves
 * each path in the process's root (procfs/reader.ts resolveInRoot) and writes the results as a
 * JSON list on stdout. It walks the container's file system, which a hung volume can freeze: it
 * is a process of its own so that the agent can kill it.
 */
import { resolveInRoot } from '../procfs/reader.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  input += chunk;
});
process.stdin.on('end', () => {
  const { procRoot, pid, paths } = JSON.parse(input) as {
    procRoot: string;
    pid: number;
    paths: string[];
  };
  process.stdout.write(JSON.stringify(paths.map((p) => resolveInRoot(procRoot, pid, p))));
});
