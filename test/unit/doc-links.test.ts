// The README is an entry point into docs/, deploy/ and test/bench/: a link to a file that moved, or to a heading
// that was renamed (a `#anchor`), would send a newcomer nowhere. Checks every relative link in the repository's
// Markdown files, anchors included, the way GitHub renders them.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', '.git', '.data']);

async function markdownFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      if (SKIP.has(entry.name)) return [];
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return markdownFiles(full);
      return entry.name.endsWith('.md') ? [full] : [];
    }),
  );
  return nested.flat();
}

const withoutCode = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutCode(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('documentation links', () => {
  it('when a Markdown file links to a file or heading of the repository, then it exists', async () => {
    const files = await markdownFiles(ROOT);
    expect(files.map((file) => path.relative(ROOT, file))).to.include.members([
      'README.md',
      'docs/configuration.md',
      'docs/runbook.md',
    ]);
    const broken: string[] = [];
    for (const file of files) {
      const text = withoutCode(await readFile(file, 'utf8'));
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue; // http:, https:, mailto:
        const [linkPath, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = linkPath ? path.resolve(path.dirname(file), linkPath) : file;
        const where = `${path.relative(ROOT, file)} -> ${target}`;
        if (!(await exists(resolved))) broken.push(`${where} (no such file)`);
        else if (anchor && resolved.endsWith('.md') && !headingAnchors(await readFile(resolved, 'utf8')).has(anchor))
          broken.push(`${where} (no such heading)`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('when headings repeat or carry punctuation, then anchors follow GitHub', () => {
    const anchors = headingAnchors(
      '# Sizing: `src/ops/capacity.ts`, written once\n## Settings\n## Settings\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).to.deep.equal(['sizing-srcopscapacityts-written-once', 'settings', 'settings-1']);
  });
});
