// Prometheus alerting rules whose thresholds come from the capacity plan that sized the cluster (plan.ts):
// the scaling triggers of the plan, as rules. `npm run plan -- --alerts` writes them; deploy/prometheus/ has the
// rules for this machine. Pure: plan in, rule file text out.
import type { CapacityPlan } from './plan.js';

/** A trigger fires at this share of its limit: time to scale before the limit is hit. */
export const CPU_TRIGGER = 0.7;
export const MEMORY_TRIGGER = 0.8;
export const SOCKETS_TRIGGER = 0.8;
export const DB_CONNECTIONS_TRIGGER = 0.8;
/**
 * p99 event-loop delay that users feel as slow acks and timeouts (socket.io's ping timeout is 20 s; this is far below
 * it).
 */
export const EVENT_LOOP_LAG_TRIGGER_SEC = 0.2;

export interface AlertInput {
  plan: CapacityPlan;
  cores: number;
  dbMaxConnections: number;
  dbReservedConnections: number;
  hosts: number;
  /** The scrape job's name in prometheus.yml. */
  job: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

const MB = 1024 * 1024;

export function alertRules(input: AlertInput): AlertRule[] {
  const { plan, job } = input;
  const sel = (extra = '') => `{job="${job}"${extra}}`;
  const dbBudget = input.dbMaxConnections - input.dbReservedConnections;
  const memoryLimitBytes = plan.memoryPerInstanceMb.value * MB;
  const pct = (share: number) => `${Math.round(share * 100)}%`;
  const warning = { severity: 'warning' } as const;
  return [
    {
      alert: 'ParleyHostCpuHigh',
      expr: `sum by (instance) (rate(process_cpu_seconds_total${sel()}[2m])) > ${CPU_TRIGGER * input.cores}`,
      for: '10m',
      labels: warning,
      annotations: {
        summary: `Parley uses over ${pct(CPU_TRIGGER)} of the host's ${input.cores} cores`,
        description: `Worker processes and their threads on {{ $labels.instance }} use {{ $value | humanize }} cores of ${input.cores}: add a host (DEPLOY_HOSTS) or cores.`,
      },
    },
    {
      alert: 'ParleyMemoryNearLimit',
      expr: `process_resident_memory_bytes${sel()} > ${Math.round(MEMORY_TRIGGER * memoryLimitBytes)}`,
      for: '5m',
      labels: warning,
      annotations: {
        summary: `An instance's RSS is over ${pct(MEMORY_TRIGGER)} of its ${plan.memoryPerInstanceMb.value} MB share`,
        description: `{{ $labels.instance_id }} holds {{ $value | humanize1024 }}B; the memory guard restarts it at ${plan.memoryGuardRestartMb.value} MB. Add memory or hosts, or look for a leak.`,
      },
    },
    {
      alert: 'ParleySocketsNearCap',
      expr: `parley_sockets_connected${sel()} > ${Math.floor(SOCKETS_TRIGGER * plan.maxConnections.value)}`,
      for: '5m',
      labels: warning,
      annotations: {
        summary: `An instance holds over ${pct(SOCKETS_TRIGGER)} of MAX_CONNECTIONS (${plan.maxConnections.value})`,
        description: `{{ $labels.instance_id }} has {{ $value }} sockets; at ${plan.maxConnections.value} it refuses new ones. Add hosts.`,
      },
    },
    {
      alert: 'ParleyDbConnectionsNearBudget',
      expr: `sum(parley_db_pool_connections${sel()}) > ${Math.floor(DB_CONNECTIONS_TRIGGER * dbBudget)}`,
      for: '5m',
      labels: warning,
      annotations: {
        summary: `The deployment holds over ${pct(DB_CONNECTIONS_TRIGGER)} of its ${dbBudget} database connections`,
        description: `{{ $value }} connections open of DB_MAX_CONNECTIONS ${input.dbMaxConnections} - ${input.dbReservedConnections} reserved, across ${input.hosts} host(s): raise the budget or put PgBouncer in front.`,
      },
    },
    {
      alert: 'ParleyDbPoolWaiting',
      expr: `max_over_time(parley_db_pool_waiting${sel()}[1m]) > 0`,
      for: '5m',
      labels: warning,
      annotations: {
        summary: 'Queries keep waiting for a database connection',
        description: `{{ $labels.instance_id }} pool {{ $labels.pool }} had waiters for 5 minutes with DB_POOL_MAX ${plan.dbPoolMax.value}: the database or the pool is the bottleneck.`,
      },
    },
    {
      alert: 'ParleyEventLoopLag',
      expr: `nodejs_eventloop_lag_p99_seconds${sel()} > ${EVENT_LOOP_LAG_TRIGGER_SEC}`,
      for: '5m',
      labels: warning,
      annotations: {
        summary: `An instance's event-loop delay p99 is over ${EVENT_LOOP_LAG_TRIGGER_SEC * 1000} ms`,
        description:
          '{{ $labels.instance_id }} p99 lag is {{ $value | humanizeDuration }}: CPU-bound work on the main thread, or the host is short of CPU.',
      },
    },
    {
      alert: 'ParleyInstanceMissing',
      expr: `parley_metrics_instance_up${sel()} == 0 or up${sel()} == 0`,
      for: '2m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'A Parley instance does not answer scrapes',
        description: `{{ $labels.instance }} (index {{ $labels.instance_index }}) is missing from the scrape; the plan expects ${plan.instances.value} instances per host.`,
      },
    },
  ];
}

/** The rule file as YAML. Values are JSON strings, which YAML reads as they are (JSON is a subset of YAML 1.2). */
export function renderAlertRules(rules: AlertRule[], header: string): string {
  const q = (value: string) => JSON.stringify(value);
  const lines = [
    ...header.split('\n').map((line) => `# ${line}`.trimEnd()),
    'groups:',
    '  - name: parley-capacity',
    '    rules:',
  ];
  for (const rule of rules) {
    lines.push(
      `      - alert: ${rule.alert}`,
      `        expr: ${q(rule.expr)}`,
      `        for: ${rule.for}`,
      '        labels:',
      `          severity: ${rule.labels.severity}`,
      '        annotations:',
      `          summary: ${q(rule.annotations.summary)}`,
      `          description: ${q(rule.annotations.description)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
