// `pm2 jlist` as the tests read it: the processes of a PM2 daemon with the fields the assertions use. PM2 may print
// a banner before the JSON, so the array is taken from its first '['.
export interface Pm2Process {
  name: string;
  pmId: number;
  pid: number;
  status: string;
  restarts: number;
  exitCode?: number;
  /** Custom metrics the process reports (what `pm2 monit` shows). */
  monit: Record<string, { value: unknown }>;
}

interface JlistEntry {
  name: string;
  pm_id: number;
  pid: number;
  pm2_env: {
    status: string;
    restart_time: number;
    exit_code?: number;
    axm_monitor?: Record<string, { value: unknown }>;
  };
}

export function parseJlist(text: string): Pm2Process[] {
  const list = JSON.parse(text.slice(text.indexOf('['))) as JlistEntry[];
  return list.map((entry) => ({
    name: entry.name,
    pmId: entry.pm_id,
    pid: entry.pid,
    status: entry.pm2_env.status,
    restarts: entry.pm2_env.restart_time,
    ...(entry.pm2_env.exit_code !== undefined ? { exitCode: entry.pm2_env.exit_code } : {}),
    monit: entry.pm2_env.axm_monitor ?? {},
  }));
}
