// npm postinstall. Two fixes to node_modules that must hold on a development install and must not break a
// production one (`npm ci --omit=dev`, where neither patch-package nor @socket.io/pm2 is installed):
//
// 1. The @socket.io/sticky patch in this folder. Its change is in `setupMaster`, which only the @socket.io/pm2
//    daemon (a dev dependency, for the SOCKET_ADAPTER=cluster tests) runs; the app's workers call `setupWorker`.
//    So the patch is needed exactly where @socket.io/pm2 is installed, and patch-package comes with it.
// 2. `node_modules/.bin/pm2`: pm2 7 (a runtime dependency) and @socket.io/pm2 both ship a `pm2` binary and npm
//    links whichever it reaches last, so `npx pm2 start ecosystem.config.js` ran pm2 6.0.14 on some installs.
//    The name belongs to the pm2 the tests and the ecosystem file are written for.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const modules = path.join(root, 'node_modules');
const installed = (name) => existsSync(path.join(modules, name, 'package.json'));

if (installed('patch-package')) {
  const result = spawnSync(
    process.execPath,
    [path.join(modules, 'patch-package', 'index.js'), '--patch-dir', '.patches'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
} else if (installed('@socket.io/pm2')) {
  console.error('postinstall: @socket.io/pm2 is installed but patch-package is not, so .patches/ cannot be applied');
  process.exit(1);
}

// Only symbolic links npm made are replaced (a Windows install has .cmd shims instead, left alone).
for (const bin of ['pm2', 'pm2-dev', 'pm2-docker', 'pm2-runtime']) {
  const link = path.join(modules, '.bin', bin);
  const target = path.join('..', 'pm2', 'bin', bin);
  if (!existsSync(path.join(modules, '.bin', target)) || !isSymlink(link) || readlinkSync(link) === target) continue;
  rmSync(link);
  symlinkSync(target, link);
}

function isSymlink(file) {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
