// `npm run bench`: the whole benchmark suite, one benchmark after the other (they would only measure each other if
// run together), then test/bench/REPORT.md: the machine, each command, a table per benchmark and SVG charts in
// test/bench/charts/. Everything in REPORT.md from its "History of earlier runs" heading on is kept as it is: it holds the
// dated runs of earlier days, added by hand.
//
//   npm run bench [-- --only history,http] [-- --quick]
//
// --quick: shorter runs (one round) to check that everything works, not for figures.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { table } from '../../src/capacity/report.js';
import { machineLine, type HttpRow } from './measure.js';
import { barChart } from './svg.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const HERE = import.meta.dirname;
const ROOT = path.resolve(HERE, '../..');
const REPORT = path.join(HERE, 'REPORT.md');
const CHARTS = path.join(HERE, 'charts');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const HISTORY_HEADING = '## History of earlier runs';
const quick = values.quick;

interface Step {
  id: string;
  title: string;
  script: string;
  args: (json: string) => string[];
  env?: Record<string, string>;
  /** Present only on some branches (the past-one-host topology). */
  optional?: boolean;
}

const STEPS: Step[] = [
  {
    id: 'history',
    title: 'Latest 50 messages: Parley (history cache off / on) against two fastify peers',
    script: 'history-read.ts',
    args: (json) => [
      '--duration',
      quick ? '3' : '5',
      '--rounds',
      quick ? '1' : '3',
      '--connections',
      '50',
      '--json',
      json,
    ],
  },
  {
    id: 'http',
    title: 'HTTP: bare node:http, Koa, one Parley process and the PM2 cluster',
    script: 'http.ts',
    args: (json) => ['--duration', quick ? '3' : '5', '--rounds', quick ? '1' : '2', '--json', json],
  },
  {
    id: 'realtime',
    title: 'Chat fan-out against bare socket.io',
    script: 'realtime.ts',
    args: () => ['--clients', '200', '--rate', '3000', '--seconds', quick ? '5' : '10'],
  },
  {
    id: 'login',
    title: 'Login storm',
    script: 'login-storm.ts',
    args: () => [],
    env: { BENCH_ROUNDS: '1', BENCH_DURATION_SEC: quick ? '5' : '10' },
  },
  {
    id: 'reload',
    title: 'Reload under load',
    script: 'reload.ts',
    args: (json) => ['--duration', quick ? '8' : '12', '--json', json],
  },
  { id: 'topology', title: 'Past one host: the topology run', script: 'topology.ts', args: () => [], optional: true },
];

interface Outcome {
  step: Step;
  command: string;
  ok: boolean;
  output: string;
  json?: { command: string; started: string; rows: HttpRow[]; [key: string]: unknown };
  skipped?: string;
}

function runStep(step: Step, dir: string): Promise<Outcome> {
  const file = path.join(HERE, step.script);
  const json = path.join(dir, `${step.id}.json`);
  const args = step.args(json);
  const command = `${Object.entries(step.env ?? {})
    .map(([k, v]) => `${k}=${v} `)
    .join(
      '',
    )}npx tsx test/bench/${step.script} ${args.filter((arg) => arg !== json && arg !== '--json').join(' ')}`.trim();
  if (!existsSync(file))
    return Promise.resolve({
      step,
      command,
      ok: true,
      output: '',
      skipped: `not on this branch (test/bench/${step.script})`,
    });
  process.stdout.write(`\n=== ${step.title}\n$ ${command}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSX, file, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...step.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code) => {
      const parsed = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Outcome['json']) : undefined;
      resolve({ step, command, ok: code === 0, output, json: parsed });
    });
  });
}

/** The markdown tables a benchmark printed (lines starting with "|") and its verdict lines, else its last lines. */
function printedTables(output: string): string {
  const lines = output.split('\n');
  // console.table output (the login storm) is kept as it is, in a code block.
  const boxes = lines.filter((line) => /^[┌│├└]/.test(line));
  const kept = lines.filter((line) => line.startsWith('|') || /^(target|the reload)/.test(line));
  if (boxes.length > 0) return `\`\`\`\n${boxes.join('\n')}\n\`\`\`\n\n${kept.join('\n')}`;
  if (kept.length === 0) return `\`\`\`\n${lines.slice(-40).join('\n')}\n\`\`\``;
  // A blank line wherever text and table meet, so each table renders on its own.
  return kept
    .map((line, i) => (i > 0 && line.startsWith('|') !== kept[i - 1]!.startsWith('|') ? `\n${line}` : line))
    .join('\n');
}

function chart(name: string, svg: string): string {
  writeFileSync(path.join(CHARTS, name), svg);
  return `![${name}](charts/${name})`;
}

function historySection(outcome: Outcome): string {
  const rows = outcome.json!.rows;
  const targets = outcome.json!.targets as Record<
    string,
    { ratio?: number; value?: number; goal: number; met: boolean }
  >;
  const groups = rows.map((row) => row.target);
  const lines = [
    printedTables(outcome.output),
    '',
    table(
      ['target', 'goal', 'measured', 'status'],
      [
        [
          'cold (cache off) vs same-SQL fastify peer',
          '>= 1.0x',
          `${targets.coldVsSameSql!.ratio!.toFixed(2)}x`,
          targets.coldVsSameSql!.met ? 'met' : '**missed**',
        ],
        [
          'hot (cache on) vs typical fastify peer',
          '>= 2.0x',
          `${targets.hotVsTypical!.ratio!.toFixed(2)}x`,
          targets.hotVsTypical!.met ? 'met' : '**missed**',
        ],
        [
          'hot p99 at 50 connections',
          '<= 20 ms',
          `${targets.hotP99Ms!.value} ms`,
          targets.hotP99Ms!.met ? 'met' : '**missed**',
        ],
      ],
    ),
    '',
    chart(
      'history-throughput.svg',
      barChart({
        title: 'Latest 50 messages: req/s per target (median round)',
        unit: 'req/s',
        groups,
        series: [{ name: 'req/s', values: rows.map((r) => r.rps) }],
      }),
    ),
    chart(
      'history-latency.svg',
      barChart({
        title: 'Latest 50 messages: latency percentiles',
        unit: 'ms',
        groups,
        series: [
          { name: 'p50', values: rows.map((r) => r.p50) },
          { name: 'p95', values: rows.map((r) => r.p95) },
          { name: 'p99', values: rows.map((r) => r.p99) },
        ],
      }),
    ),
  ];
  return lines.join('\n');
}

function httpSection(outcome: Outcome): string {
  const rows = outcome.json!.rows;
  const read = rows.filter((row) => row.endpoint.startsWith('GET'));
  const live = rows.filter((row) => row.endpoint.includes('live'));
  return [
    printedTables(outcome.output),
    '',
    chart(
      'http-throughput.svg',
      barChart({
        title: 'HTTP: req/s per target',
        unit: 'req/s',
        groups: rows.map((r) => `${r.target} ${r.endpoint}`),
        series: [{ name: 'req/s', values: rows.map((r) => r.rps) }],
      }),
    ),
    chart(
      'http-scaling.svg',
      barChart({
        title: 'Scaling with instances: 1 process vs PM2 cluster',
        unit: 'req/s',
        groups: ['/health/live', 'GET 50 messages'],
        series: [
          {
            name: '1 process',
            values: [
              live.find((r) => r.target.includes('1 process'))?.rps ?? NaN,
              read.find((r) => r.target.includes('1 process'))?.rps ?? NaN,
            ],
          },
          {
            name: 'PM2 cluster',
            values: [
              live.find((r) => r.target.includes('cluster'))?.rps ?? NaN,
              read.find((r) => r.target.includes('cluster'))?.rps ?? NaN,
            ],
          },
        ],
      }),
    ),
    chart(
      'http-latency.svg',
      barChart({
        title: 'HTTP: latency percentiles',
        unit: 'ms',
        groups: rows.map((r) => `${r.target} ${r.endpoint}`),
        series: [
          { name: 'p50', values: rows.map((r) => r.p50) },
          { name: 'p95', values: rows.map((r) => r.p95) },
          { name: 'p99', values: rows.map((r) => r.p99) },
        ],
      }),
    ),
  ].join('\n');
}

function section(outcome: Outcome): string {
  const head = `## ${outcome.step.title}\n\n\`${outcome.command}\`\n`;
  if (outcome.skipped) return `${head}\nNot run: ${outcome.skipped}.\n`;
  if (!outcome.ok)
    return `${head}\n**The run failed**; its last output:\n\n\`\`\`\n${outcome.output.split('\n').slice(-30).join('\n')}\n\`\`\`\n`;
  if (outcome.step.id === 'history' && outcome.json) return `${head}\n${historySection(outcome)}\n`;
  if (outcome.step.id === 'http' && outcome.json) return `${head}\n${httpSection(outcome)}\n`;
  return `${head}\n${printedTables(outcome.output)}\n`;
}

async function main(): Promise<void> {
  const only = values.only?.split(',');
  const steps = STEPS.filter((step) => !only || only.includes(step.id));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  mkdirSync(CHARTS, { recursive: true });
  const started = new Date().toISOString();
  const outcomes: Outcome[] = [];
  try {
    for (const step of steps) outcomes.push(await runStep(step, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const previous = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '';
  const at = previous.indexOf(`\n${HISTORY_HEADING}\n`);
  const history = at >= 0 ? previous.slice(at + 1) : `${HISTORY_HEADING}\n`;
  const load = os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
  const report = [
    '# Parley benchmark report',
    '',
    `Written by \`npm run bench${values.only || quick ? ' --' : ''}${values.only ? ` --only ${values.only}` : ''}${quick ? ' --quick' : ''}\` (test/bench/run.ts), started ${started}.`,
    '',
    `Machine: ${machineLine()}; load average at the end ${load}. The machine is shared with other developers' tests and benchmarks,`,
    'so absolute figures move from run to run; compare targets within one run (every benchmark measures its baseline in the same run).',
    '',
    ...outcomes.map(section),
    history,
  ].join('\n');
  writeFileSync(REPORT, report);
  process.stdout.write(`\nwrote ${path.relative(ROOT, REPORT)}\n`);
  if (outcomes.some((outcome) => !outcome.ok)) process.exitCode = 1;
}

void main();
