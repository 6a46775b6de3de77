/**
 * The footprint targets side by side with what this run measured (the figures the other parts
 * recorded in $BENCH_RESULTS). Prints a table; a target without a figure says which part to run.
 *
 *   node dist/bench/targets.js   (run last by bench/run.sh)
 */
import { readFileSync } from 'node:fs';

const figures = new Map<string, number>();
for (const line of readFileSync(process.env.BENCH_RESULTS ?? '/dev/null', 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const { key, value } = JSON.parse(line) as { key: string; value: number };
  figures.set(key, value);
}

interface Target {
  readonly what: string;
  readonly key: string;
  readonly goal: string;
  readonly met: (v: number) => boolean;
  readonly show: (v: number) => string;
  readonly part: string;
}

const mib = (v: number): string => `${v.toFixed(1)} MiB`;
const TARGETS: readonly Target[] = [
  {
    what: "agent RSS, median at rest (100 pods, the image's Node, chart settings)",
    key: 'agent.rss.median',
    goal: '≤ 64 MiB',
    met: (v) => v <= 64,
    show: mib,
    part: 'agent',
  },
  {
    what: 'agent RSS, peak',
    key: 'agent.rss.peak',
    goal: '≤ 80 MiB',
    met: (v) => v <= 80,
    show: mib,
    part: 'agent',
  },
  {
    what: 'agent API writes at rest',
    key: 'agent.writes.perMinute',
    goal: '0 / min',
    met: (v) => v === 0,
    show: (v) => `${v.toFixed(1)} / min`,
    part: 'agent',
  },
  {
    what: 'steady rescan CPU, scanner in process (median)',
    key: 'scan.steady.cpu',
    goal: '≤ 25 ms',
    met: (v) => v <= 25,
    show: (v) => `${v.toFixed(1)} ms`,
    part: 'scan',
  },
  {
    what: 'cold scan in process vs the manual method (wall)',
    key: 'scan.cold.ratio',
    goal: '≥ 30×',
    met: (v) => v >= 30,
    show: (v) => `${v.toFixed(0)}×`,
    part: 'scan',
  },
  {
    what: '`nsreport scan` process vs the manual method (wall)',
    key: 'scan.process.ratio',
    goal: '≥ 8×',
    met: (v) => v >= 8,
    show: (v) => `${v.toFixed(1)}×`,
    part: 'scan',
  },
  {
    what: 'the floor of a cold scan vs the manual method: the most a scan can reach (bench/scan-floor.ts)',
    key: 'scan.floor.cold.ratio',
    goal: '≥ 30×',
    met: (v) => v >= 30,
    show: (v) => `${v.toFixed(0)}×`,
    part: 'scan',
  },
  {
    what: 'the cold scan, share of its floor (the floor’s time over its own)',
    key: 'scan.cold.ofFloor',
    goal: '—',
    met: () => true,
    show: (v) => `${(v * 100).toFixed(0)}%`,
    part: 'scan',
  },
  {
    what: 'the floor as a process vs the manual method',
    key: 'scan.floor.process.ratio',
    goal: '≥ 8×',
    met: (v) => v >= 8,
    show: (v) => `${v.toFixed(1)}×`,
    part: 'scan',
  },
  {
    what: 'the `nsreport scan` process, share of its floor',
    key: 'scan.process.ofFloor',
    goal: '—',
    met: () => true,
    show: (v) => `${(v * 100).toFixed(0)}%`,
    part: 'scan',
  },
  {
    what: 'audit of 10,000 reports, peak RSS (default Node settings)',
    key: 'audit.rss',
    goal: '≤ 128 MiB',
    met: (v) => v <= 128,
    show: mib,
    part: 'audit',
  },
  {
    what: 'audit of 10,000 reports, time',
    key: 'audit.seconds',
    goal: '≤ 5 s',
    met: (v) => v <= 5,
    show: (v) => `${v.toFixed(2)} s`,
    part: 'audit',
  },
  {
    what: 'audit of 150,000 reports, peak RSS (default Node settings)',
    key: 'audit.150000.rss',
    goal: '≤ 256 MiB',
    met: (v) => v <= 256,
    show: mib,
    part: 'audit',
  },
  {
    what: 'audit of 150,000 reports, time',
    key: 'audit.150000.seconds',
    goal: '≤ 30 s',
    met: (v) => v <= 30,
    show: (v) => `${v.toFixed(1)} s`,
    part: 'audit',
  },
  {
    what: "a plain pod's report as etcd holds it (median)",
    key: 'size.plain.median',
    goal: '≤ 3 KiB',
    met: (v) => v <= 3072,
    show: (v) => `${(v / 1024).toFixed(2)} KiB`,
    part: 'agent',
  },
  {
    what: "a report forged to another node's label and body, corrected (median of 20)",
    key: 'forgery.otherNode.median',
    goal: '≤ 2 s',
    met: (v) => v <= 2,
    show: (v) => `${v.toFixed(2)} s`,
    part: 'forgery',
  },
  {
    what: 'report size p99',
    key: 'size.p99',
    goal: '≤ 8 KiB',
    met: (v) => v <= 8192,
    show: (v) => `${(v / 1024).toFixed(2)} KiB`,
    part: 'agent',
  },
];

const rows = TARGETS.map((t) => {
  const v = figures.get(t.key);
  if (v === undefined) return `| ${t.what} | ${t.goal} | not measured (BENCH_PARTS=${t.part}) | |`;
  const verdict = t.goal === '—' ? '' : t.met(v) ? 'met' : '**missed**';
  return `| ${t.what} | ${t.goal} | ${t.show(v)} | ${verdict} |`;
});
process.stdout.write(
  ['| target | goal | this run | |', '|---|---:|---:|---|', ...rows].join('\n') + '\n',
);
