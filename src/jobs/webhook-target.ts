// SSRF guard for the webhook: in production the receiver must be a public address. Checked at start (the host as
// it resolves now: a bad URL stops the jobs app with EX_CONFIG) and at every connection (a DNS answer that changes
// to a private address later is refused too: the `lookup` given to http.request).
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** ipaddr.js's name for an ordinary public address; loopback, private, link-local, unique-local, CGNAT... are not. */
const PUBLIC_RANGE = 'unicast';

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 is 10.0.0.1.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === PUBLIC_RANGE;
}

export class WebhookTargetRefused extends Error {
  readonly code = 'EWEBHOOKREFUSED';
  constructor(host: string, address: string) {
    super(
      `webhook host ${host} resolves to ${address}, a loopback or private address (set NOTIFY_ALLOW_PRIVATE=true to allow it)`,
    );
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Every address the URL's host resolves to must be public; throws WebhookTargetRefused otherwise. */
export async function checkWebhookTarget(url: string): Promise<void> {
  const host = hostOf(new URL(url));
  const addresses = net.isIP(host)
    ? [host]
    : (await dns.promises.lookup(host, { all: true })).map((entry) => entry.address);
  const refused = addresses.find((address) => !isPublicAddress(address));
  if (refused !== undefined) throw new WebhookTargetRefused(host, refused);
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for http.request that refuses private answers, so the connection is made only to a checked address. */
export function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) return callback(new WebhookTargetRefused(hostname, refused.address), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
