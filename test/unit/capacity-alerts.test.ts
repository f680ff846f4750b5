// Alert rules from the capacity plan: thresholds are the plan's numbers, `npm run plan -- --alerts` writes a file
// promtool accepts, the rules fire (and stay quiet) as promtool's rule tests show, and the shipped files in
// deploy/prometheus/ pass promtool too. promtool comes from Debian's prometheus package (.ci/run installs it).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { alertRules, renderAlertRules, type AlertRule } from '../../src/capacity/alerts.js';
import { planCapacity } from '../../src/capacity/plan.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(command: string, args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT')
        throw new Error(`${command} not found: apt-get install prometheus (see .ci/run)`);
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

const input = {
  cores: 8,
  memoryMb: 16_384,
  dbMaxConnections: 200,
  dbReservedConnections: 5,
  hosts: 2,
  openFilesLimit: 65_536,
};
const plan = planCapacity(input);
const rules = alertRules({ plan, ...input, job: 'parley' });
const byName = (name: string): AlertRule => rules.find((rule) => rule.alert === name)!;
const threshold = (rule: AlertRule) => Number(/> (\d+(?:\.\d+)?)$/.exec(rule.expr)?.[1]);

describe('alert rules from the capacity plan', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'parley-alerts-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("when the plan is for 8 cores, 16 GB and two hosts, then each trigger sits at its share of that plan's limit", () => {
    expect(threshold(byName('ParleyHostCpuHigh'))).to.equal(0.7 * 8);
    expect(threshold(byName('ParleyMemoryNearLimit'))).to.equal(
      Math.round(0.8 * plan.memoryPerInstanceMb.value * 1024 * 1024),
    );
    expect(threshold(byName('ParleySocketsNearCap'))).to.equal(Math.floor(0.8 * plan.maxConnections.value));
    expect(threshold(byName('ParleyDbConnectionsNearBudget'))).to.equal(Math.floor(0.8 * (200 - 5)));
    expect(byName('ParleyDbPoolWaiting').expr).to.include('parley_db_pool_waiting{job="parley"}');
    expect(byName('ParleyEventLoopLag').expr).to.include('nodejs_eventloop_lag_p99_seconds{job="parley"}');
    // The socket cap: memory between an idle instance (120 MB, and 20 MB for each of its one CPU-pool thread and one
    // upload thread: 8 cores over 8 instances) and the warning mark at 50 KB a socket, or the open files.
    expect(plan.workerThreads.value).to.equal(1);
    expect(plan.maxConnections.value).to.equal(Math.floor(((plan.memoryWarnMb.value - 160) * 1024) / 50));
    expect(
      planCapacity({ ...input, openFilesLimit: 4096 }).maxConnections.value,
      'ulimit -n 4096 less 1024 kept',
    ).to.equal(3072);
  });

  it('when `npm run plan -- --alerts` writes the rules, then `promtool check rules` accepts every rule', async () => {
    const file = path.join(dir, 'alerts.yml');
    const plan = await run(process.execPath, [
      'dist/plan.js',
      '--alerts',
      '--cores',
      '4',
      '--memory',
      '8G',
      '--out',
      file,
    ]);
    expect(plan.code, plan.output).to.equal(0);
    expect(readFileSync(file, 'utf8')).to.include('4 cores, 8192 MB');
    const check = await run('promtool', ['check', 'rules', file]);
    expect(check.code, check.output).to.equal(0);
    expect(check.output).to.include(`SUCCESS: ${rules.length} rules found`);
  });

  it('when sockets and database connections pass their triggers, then promtool sees those alerts fire, and not below them', async () => {
    const rulesFile = path.join(dir, 'rules.yml');
    writeFileSync(rulesFile, renderAlertRules(rules, 'test'));
    const cap = plan.maxConnections.value;
    const series = (labels: string, values: string) => `      - series: '${labels}'\n        values: '${values}'`;
    const testFile = path.join(dir, 'rules.test.yml');
    writeFileSync(
      testFile,
      [
        'rule_files: [rules.yml]',
        'evaluation_interval: 1m',
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        series('parley_sockets_connected{job="parley",instance_id="a:0"}', `${Math.ceil(cap * 0.9)}x15`),
        series('parley_sockets_connected{job="parley",instance_id="a:1"}', `${Math.floor(cap * 0.5)}x15`),
        // 2 hosts x 8 instances x 10 connections = 160, over 80% of the 195-connection budget only together.
        ...Array.from({ length: 16 }, (_, i) =>
          series(`parley_db_pool_connections{job="parley",instance_id="h${i % 2}:${i}",pool="primary"}`, '10x15'),
        ),
        '    alert_rule_test:',
        '      - eval_time: 10m',
        '        alertname: ParleySocketsNearCap',
        '        exp_alerts:',
        '          - exp_labels: {severity: warning, job: parley, instance_id: "a:0"}',
        `            exp_annotations:`,
        `              summary: ${JSON.stringify(byName('ParleySocketsNearCap').annotations.summary)}`,
        `              description: ${JSON.stringify(`a:0 has ${Math.ceil(cap * 0.9)} sockets; at ${cap} it refuses new ones. Add hosts.`)}`,
        '      - eval_time: 3m',
        '        alertname: ParleySocketsNearCap',
        '        exp_alerts: []',
        '      - eval_time: 10m',
        '        alertname: ParleyDbConnectionsNearBudget',
        '        exp_alerts:',
        '          - exp_labels: {severity: warning}',
        `            exp_annotations:`,
        `              summary: ${JSON.stringify(byName('ParleyDbConnectionsNearBudget').annotations.summary)}`,
        `              description: ${JSON.stringify('160 connections open of DB_MAX_CONNECTIONS 200 - 5 reserved, across 2 host(s): raise the budget or put PgBouncer in front.')}`,
        '      - eval_time: 10m',
        '        alertname: ParleyMemoryNearLimit',
        '        exp_alerts: []',
      ].join('\n') + '\n',
    );
    const result = await run('promtool', ['test', 'rules', 'rules.test.yml'], dir);
    expect(result.code, result.output).to.equal(0);
    expect(result.output).to.include('SUCCESS');
  });

  it('when the shipped deploy/prometheus files are checked, then promtool accepts the scrape config and its rules', async () => {
    const check = await run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(check.code, check.output).to.equal(0);
    expect(check.output).to.match(/SUCCESS: \d+ rules found/);
    expect(readFileSync(path.join(ROOT, 'deploy/prometheus/parley-alerts.yml'), 'utf8')).to.include(
      'written by `npm run plan -- --alerts`',
    );
  });
});
