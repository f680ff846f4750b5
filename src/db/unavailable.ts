// Whether an error means PostgreSQL cannot be reached right now (a restart, a failover, a network cut, no
// connection slots), as opposed to a query that is wrong: the first is worth a retry, the second is a bug.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
// SQLSTATE classes 08 (connection exception) and 53 (insufficient resources, e.g. too many connections), and
// 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now: what a restarting server answers).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[123])/;
// What node-postgres itself throws when a connection dies or cannot be had in time.
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed/;

export function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}
