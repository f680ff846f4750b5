// `npm run deploy:nginx -- --hosts hosts.json [--out DIR]`: writes upstreams.conf and drain.conf for the hosts
// file into DIR (default: the hosts file's nginx.confDir), for nginx/parley.conf to include. Then `nginx -t` and
// `nginx -s reload` on the nginx machine (deploy/DEPLOYMENT.md).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseFlags } from './lib/args.js';
import { loadDeployment } from './lib/hosts.js';
import { renderNginxFiles } from './lib/nginx-config.js';

const flags = parseFlags(process.argv.slice(2));
const hostsFile = flags.get('hosts') ?? 'deploy/hosts.json';
const deployment = loadDeployment(hostsFile);
const out = flags.get('out') ?? deployment.nginx.confDir;
for (const [name, text] of Object.entries(renderNginxFiles(deployment))) {
  writeFileSync(path.join(out, name), text);
  console.log(`wrote ${path.join(out, name)}`);
}
