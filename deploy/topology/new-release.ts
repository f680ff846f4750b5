// `npm run topology:release`: a new release of this checkout's build (run `npm run build` first) in the running
// topology's releases directory; prints its id for `npm run deploy:rolling -- --release ID`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeRelease, releaseId } from './release.js';
import { deploymentFile, topologySettings } from './settings.js';

const { dir } = topologySettings();
if (!existsSync(deploymentFile(dir))) {
  console.error(`no topology in ${dir}: npm run topology:up first`);
  process.exit(1);
}
const id = releaseId();
await makeRelease(path.join(dir, 'releases'), id);
console.log(id);
