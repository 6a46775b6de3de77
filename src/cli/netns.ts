import { closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCriClient } from '../cri/client.js';
import { detectEndpoint } from '../cri/endpoint.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../config/exit.js';
import type { NetnsConfig } from '../config/netns.js';
import { checkNetnsDir } from '../netns/dir.js';
import { FLAG, linkName, unlinkName, type NameOptions } from '../netns/names.js';
import { failure, usage, type NetnsOutcome } from '../netns/outcome.js';
import { openPodNetns } from '../netns/pod.js';
import {
  canMount,
  createMounter,
  findExecutable,
  NO_SYS_ADMIN,
  type MounterOptions,
} from '../netns/tools.js';
import { escapeText } from './escape.js';
import type { CliIO } from './io.js';

function tools(config: NetnsConfig): MounterOptions {
  return {
    mount: findExecutable('mount', config.searchPath),
    umount: findExecutable('umount', config.searchPath),
  };
}

function nameOptions(config: NetnsConfig, mounter: MounterOptions): NameOptions {
  return {
    netnsDir: config.netnsDir,
    stateDir: config.stateDir,
    name: config.name,
    mounter: createMounter(mounter),
  };
}

/** What link needs before it asks the runtime: procfs, a usable directory, both tools. */
function linkPreconditions(config: NetnsConfig, found: MounterOptions): NetnsOutcome | null {
  if (!existsSync(join(config.procRoot, 'self', 'ns')))
    return usage(`--proc-root: ${config.procRoot} is not a procfs mount (no self/ns in it)`);
  const dir = checkNetnsDir(FLAG, config.netnsDir, true);
  if (!dir.ok) return dir.outcome;
  // umount too: a mount that pins the wrong thing is undone.
  for (const tool of ['mount', 'umount'] as const)
    if (found[tool] === null)
      return failure(`${tool} (util-linux) is not on PATH (${config.searchPath.join(':')})`);
  return canMount() ? null : failure(NO_SYS_ADMIN);
}

async function endpointOf(config: NetnsConfig): Promise<string | NetnsOutcome> {
  if (config.criEndpoint !== null) return config.criEndpoint;
  const probe = await detectEndpoint();
  if (probe.found) return probe.endpoint;
  return failure(
    `no CRI runtime socket found (tried ${probe.tried.join(', ')}); pass --cri-endpoint`,
  );
}

async function link(config: NetnsConfig): Promise<NetnsOutcome> {
  const found = tools(config);
  const bad = linkPreconditions(config, found);
  if (bad !== null) return bad;
  const endpoint = await endpointOf(config);
  if (typeof endpoint !== 'string') return endpoint;
  const runtime = createCriClient(endpoint, { timeoutMs: config.criTimeoutMs });
  try {
    const pod = await openPodNetns(runtime, config.procRoot, config.pod);
    if (!pod.ok) return failure(pod.message);
    try {
      return await linkName(nameOptions(config, found), pod.ns);
    } finally {
      closeSync(pod.ns.fd);
    }
  } finally {
    runtime.close();
  }
}

function exitCode(o: NetnsOutcome): number {
  if (o.ok) return EXIT_OK;
  return o.fault === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
}

/** `nsreport netns link|unlink NS/POD`: one line (two for link) and an exit code, always. */
export async function runNetns(config: NetnsConfig, io: CliIO): Promise<number> {
  const outcome =
    config.command === 'netns-unlink'
      ? await unlinkName(nameOptions(config, tools(config)))
      : await link(config);
  if (!outcome.ok) {
    io.stderr(`nsreport: ${outcome.message}`);
    return exitCode(outcome);
  }
  // Each line escaped whole: paths and names hold what a pod and the runtime chose.
  const lines = [outcome.message, ...(outcome.next === undefined ? [] : [outcome.next])];
  io.stdout(lines.map((l) => `${escapeText(l)}\n`).join(''));
  return exitCode(outcome);
}
