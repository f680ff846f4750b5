// Every runtime dependency is used: imported by the app (src/) or the ecosystem file, or a command the operator
// runs. An unused one is weight in every production install (rate-limiter-flexible was).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Used without an import: the command operators run (`npx pm2 ...`, the npm scripts). */
const COMMANDS = ['pm2'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(file) : /\.(ts|js|mjs)$/.test(entry.name) ? [file] : [];
  });
}

describe('dependencies', () => {
  it('when the runtime dependencies are listed, then each is imported by src/ or the ecosystem file, or is a command', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const code = [...sources(path.join(ROOT, 'src')), path.join(ROOT, 'ecosystem.config.js')]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const imported = (name: string) =>
      new RegExp(`(from |import\\()'${name.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(code);
    const unused = Object.keys(pkg.dependencies).filter((name) => !imported(name) && !COMMANDS.includes(name));
    expect(unused).to.deep.equal([]);
  });
});
