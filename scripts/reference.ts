/**
 * Writes docs/reference.md from the code: every command's flags and environment variables (the
 * flag tables of src/config), the exit codes, the metrics (the agent's own registry), the
 * NamespaceReport's labels, columns and fields (the chart's CRD) and the finding ids; and
 * docs/bad-input.md from the bad-input table (scripts/bad-input.ts). test/unit/reference.test.ts
 * and test/unit/bad-input.test.ts fail when either is out of date.
 *
 *   npm run docs          (build, then write docs/reference.md and docs/bad-input.md)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram } from 'prom-client';
import { parse } from 'yaml';
import { COMMANDS } from '../src/config/config.js';
import { EXIT_CODES } from '../src/config/exit.js';
import { envName, flagName, type FlagDefs } from '../src/config/flags.js';
import { FINDING_CATALOGUE, FINDING_IDS } from '../src/inspect/catalogue.js';
import { ANNOTATION_ACCEPT, ANNOTATION_ACCEPT_REASON } from '../src/inspect/accept.js';
import * as contract from '../src/report/types.js';
import { createMetrics } from '../src/telemetry/metrics.js';
import { BAD_INPUTS, FIXTURES } from '../test/unit/bad-input.cases.js';
import { NETNS_CASES } from '../test/unit/netns-cases.js';
import { BAD_INPUT_PATH, formattedBadInput, renderBadInput } from './bad-input.js';
import { formattedAt } from './markdown.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const REFERENCE_PATH = `${ROOT}docs/reference.md`;

/** Backticks for code; pipes escaped for a table cell. */
const code = (s: string): string => `\`${s.replace(/\|/g, '\\|')}\``;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function flagTable(flags: FlagDefs): string {
  return table(
    ['flag', 'environment', 'default', 'meaning'],
    Object.entries(flags).map(([name, d]) => [
      code(flagName(name, d)),
      d.env ? code(envName(name)) : '',
      d.default !== undefined ? code(d.default) : '',
      cell(d.help),
    ]),
  );
}

function commands(): string {
  return COMMANDS.map((c) => {
    const alias = c.alias ? ` (also \`${c.alias}\`)` : '';
    const description = c.description.replace(/\n/g, ' ');
    const examples = ['```sh', ...c.examples, '```'].join('\n');
    return `### \`nsreport ${c.synopsis}\`${alias}\n\n${description}\n\n${examples}\n\n${flagTable(c.flags)}`;
  }).join('\n\n');
}

/** Variables read besides the NSREPORT_* flag equivalents. */
const OTHER_ENV: readonly (readonly [string, string])[] = [
  ['NODE_NAME', '`--node-name` when unset (the chart sets it from the downward API)'],
  ['KUBECONFIG', "kubeconfig files, kubectl's rules (`agent`: else in-cluster)"],
  ['NO_COLOR', '`audit`: no colors, whatever the terminal (https://no-color.org)'],
  ['PATH', '`netns`: where `mount` and `umount` (util-linux) are looked up'],
];

function metricType(m: unknown): string {
  if (m instanceof Counter) return 'counter';
  if (m instanceof Histogram) return 'histogram';
  if (m instanceof Gauge) return 'gauge';
  return 'untyped';
}

function metrics(): string {
  const own = createMetrics()
    .registry.getMetricsAsArray()
    .filter((m) => m.name.startsWith('nsreport_'));
  return table(
    ['metric', 'type', 'labels', 'meaning'],
    own.map((m) => {
      const labels = (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
      return [code(m.name), metricType(m), labels.map(code).join(', '), cell(m.help)];
    }),
  );
}

/** An OpenAPI v3 schema of the CRD, as far as nsreport's tests and docs read it. */
export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: string[];
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  required?: string[];
  nullable?: boolean;
  oneOf?: Schema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface Crd {
  spec: {
    versions: {
      additionalPrinterColumns: {
        name: string;
        jsonPath: string;
        description?: string;
        priority?: number;
      }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

function typeOf(s: Schema): string {
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  if (s.enum) return s.enum.map((v) => code(v)).join(' \\| ');
  if (s.type === 'object' && typeof s.additionalProperties === 'object')
    return `map of ${typeOf(s.additionalProperties)}`;
  return s.type ?? 'any';
}

/** A map whose every key has the same schema (the eight namespace types) is one row, `<type>`. */
function keysOf(s: Schema): [string, Schema][] {
  const entries = Object.entries(s.properties ?? {});
  const first = JSON.stringify(entries[0]?.[1]);
  const same = entries.length > 2 && entries.every(([, c]) => JSON.stringify(c) === first);
  return same ? entries.slice(0, 1).map(([, c]) => ['<type>', c]) : entries;
}

function fieldRows(s: Schema, path: string): string[][] {
  const rows: string[][] = [];
  for (const [key, child] of keysOf(s)) {
    const p = path === '' ? key : `${path}.${key}`;
    rows.push([code(p), typeOf(child), cell(child.description ?? '')]);
    const inner = child.type === 'array' ? child.items : child;
    if (inner?.properties) rows.push(...fieldRows(inner, child.type === 'array' ? `${p}[]` : p));
  }
  return rows;
}

function report(crdText: string): string {
  const version = (parse(crdText) as Crd).spec.versions[0];
  if (!version) throw new Error('the CRD: no version');
  const root = version.schema.openAPIV3Schema.properties?.report;
  if (!root) throw new Error('the CRD: no report field');
  const labels = table(
    ['label', 'value'],
    [
      [code(contract.LABEL_MANAGED_BY), code(contract.MANAGER)],
      [code(contract.LABEL_NODE), 'the node name (longer than 63: a stable short form)'],
      [
        code(contract.LABEL_HOST_NETWORK),
        "`true` when the pod shares the host's network namespace, absent when not (older agents wrote `false`)",
      ],
      [code(contract.LABEL_HOST_PID), 'same, for the PID namespace'],
      [code(contract.LABEL_HOST_IPC), 'same, for the IPC namespace'],
      [code(contract.LABEL_SEVERITY), 'the highest severity of the findings that are not accepted'],
    ],
  );
  const columns = table(
    ['column', 'from', 'shown'],
    version.additionalPrinterColumns.map((c) => [
      c.name,
      code(c.jsonPath),
      c.priority ? '`-o wide`' : 'always',
    ]),
  );
  return [
    `\`${contract.PLURAL}.${contract.API_GROUP}\`, \`apiVersion: ${contract.API_VERSION}\`, \`kind: ${contract.KIND}\`, short name \`nsr\`, category \`nsreport\`; one per pod, in the pod's namespace, with its name.`,
    `### Labels\n\n${labels}`,
    `Pod annotations read by the agent (only in the namespaces of \`--accept-annotations-in\`): ${code(ANNOTATION_ACCEPT)} (finding ids), ${code(ANNOTATION_ACCEPT_REASON)}. The audit and \`nsreport version\` find the agents' DaemonSets by ${code(contract.AGENT_SELECTOR)}.`,
    `### Columns of \`kubectl get nsr\`\n\n${columns}`,
    `### Fields (\`kubectl explain ${contract.PLURAL}.report\` prints the same)\n\n${table(['field', 'type', 'meaning'], fieldRows(root, 'report'))}`,
  ].join('\n\n');
}

/** The whole of docs/reference.md (before prettier). */
export function renderReference(sources: { crd: string; findings: string }): string {
  return `# Reference

Generated from the code by \`npm run docs\` (\`scripts/reference.ts\`); a unit test fails when it is
out of date. What each part means in use: [commands.md](commands.md), [install.md](install.md),
[findings.md](findings.md).

## Commands and flags

\`nsreport COMMAND [flags]\`. Every flag with an environment variable can be given by it; the flag
wins, and an empty variable is unset. Every problem of the command line and environment is named
at once, one line each, and the exit code is 2; what each bad input gets is in
[bad-input.md](bad-input.md).

${commands()}

### Other environment variables

${table(
  ['variable', 'meaning'],
  OTHER_ENV.map(([k, v]) => [code(k), v]),
)}

### Exit codes

${table(
  ['code', 'meaning'],
  EXIT_CODES.map((e) => [String(e.code), cell(e.meaning)]),
)}

## Metrics

\`nsreport agent\` serves them on \`--metrics-addr\` at \`/metrics\` (own registry; no pod or container ids as labels), beside \`/healthz\` and \`/readyz\`. Node's \`process_*\` and \`nodejs_*\` defaults come too, without the three \`nodejs_active_*_total\` gauges (promtool rejects \`_total\` on a gauge).

${metrics()}

## The NamespaceReport

${report(sources.crd)}

## Finding ids

${findingTable(sources.findings)}

Why each matters, how to fix it and how to accept it: [findings.md](findings.md).
`;
}

/**
 * The findings catalogue (src/inspect/catalogue.ts) as a table, each id linked to its section of
 * docs/findings.md; an id whose section is missing there is an error.
 */
function findingTable(findingsMd: string): string {
  const rows = FINDING_IDS.map((id) => {
    const e = FINDING_CATALOGUE[id];
    const heading = new RegExp(`^## (${id}\\b.*)$`, 'm').exec(findingsMd)?.[1];
    // GitHub's anchors: lower case, spaces to dashes, punctuation dropped.
    const anchor = heading
      ?.toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-');
    if (anchor !== e.anchor)
      throw new Error(`docs/findings.md: no section for ${id} (#${e.anchor} in the catalogue)`);
    return `| [${id}](findings.md#${e.anchor}) | ${e.severity} | ${e.summary} |`;
  });
  return ['| Id | Severity | In one line |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The files the reference is made from besides the code. */
export function readSources(): { crd: string; findings: string } {
  return {
    crd: readFileSync(`${ROOT}charts/nsreport/crds/namespacereports.nsreport.dev.yaml`, 'utf8'),
    findings: readFileSync(`${ROOT}docs/findings.md`, 'utf8'),
  };
}

/** docs/reference.md as prettier formats the repository's markdown. */
export function formatted(markdown: string): Promise<string> {
  return formattedAt(markdown, REFERENCE_PATH);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(REFERENCE_PATH, await formatted(renderReference(readSources())));
  process.stderr.write(`wrote ${REFERENCE_PATH}\n`);
  writeFileSync(
    BAD_INPUT_PATH,
    await formattedBadInput(renderBadInput(BAD_INPUTS, FIXTURES, NETNS_CASES)),
  );
  process.stderr.write(`wrote ${BAD_INPUT_PATH}\n`);
}
