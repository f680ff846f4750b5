// A release directory made from this checkout's build: what a real deploy would rsync to each host's releases
// directory. Dependencies are linked, not copied (the topology's hosts share this machine's node_modules).
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export async function makeRelease(releasesDir: string, id: string): Promise<string> {
  if (!existsSync(path.join(REPO, 'dist', 'main.js'))) throw new Error('no dist/main.js: run `npm run build` first');
  const dir = path.join(releasesDir, id);
  if (existsSync(dir)) throw new Error(`release ${id} exists already in ${releasesDir}`);
  await mkdir(path.join(dir, 'src', 'db'), { recursive: true });
  await cp(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true });
  await cp(path.join(REPO, 'src', 'db', 'migrations'), path.join(dir, 'src', 'db', 'migrations'), { recursive: true });
  for (const file of ['package.json', 'ecosystem.config.js']) await cp(path.join(REPO, file), path.join(dir, file));
  await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  await writeFile(path.join(dir, 'RELEASE'), `${id}\n`);
  return dir;
}

export const releaseId = (): string => `r${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
