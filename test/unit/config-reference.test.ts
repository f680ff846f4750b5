// docs/configuration.md is the one configuration reference the README links to: it must name every variable the
// schema reads, nothing else, and show the same plain defaults as .env.example.
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { CONFIG_VARIABLES, DEPLOYMENT_VARIABLES } from '../../src/config.js';

const REFERENCE_HEADING = '## Reference';

interface ReferenceRow {
  name: string;
  defaultCell: string;
}

/** The rows of the first table under the reference heading: `| `NAME` | area | default | meaning |`. */
function parseReferenceTable(markdown: string): ReferenceRow[] {
  const start = markdown.indexOf(`\n${REFERENCE_HEADING}\n`);
  if (start < 0) throw new Error(`docs/configuration.md has no "${REFERENCE_HEADING}" heading`);
  const lines = markdown.slice(start).split('\n').slice(2);
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, index) => index > first && !line.startsWith('|'));
  const rows = lines.slice(first, end < 0 ? undefined : end);
  const [header, separator, ...body] = rows;
  expect(header, 'the reference table header').to.match(/^\| variable \| area \| default \| meaning \|$/);
  expect(separator).to.match(/^\|( --- \|)+$/);
  return body.map((line) => {
    const cells = line.split(' | ');
    const name = /^\| `([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '');
    if (!name) throw new Error(`a reference row must start with one backticked variable: ${line}`);
    return { name: name[1]!, defaultCell: cells[2] ?? '' };
  });
}

/** `NAME=value` lines of .env.example that set a value (commented or empty ones say "unset" or "computed"). */
function exampleValues(example: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const match of example.matchAll(/^([A-Z][A-Z0-9_]*)=(.+)$/gm)) values.set(match[1]!, match[2]!.trim());
  return values;
}

describe('configuration reference (docs/configuration.md)', () => {
  let rows: ReferenceRow[];
  let example: string;
  before(async () => {
    rows = parseReferenceTable(await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8'));
    example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
  });

  it('when the schema reads a variable, then the reference table has a row for it', () => {
    const documented = new Set(rows.map((row) => row.name));
    const missing = [...new Set([...CONFIG_VARIABLES, ...DEPLOYMENT_VARIABLES])].filter(
      (name) => !documented.has(name),
    );
    expect(missing).to.deep.equal([]);
  });

  it('when the reference table names a variable, then the schema reads it, once', () => {
    const known = new Set([...CONFIG_VARIABLES, ...DEPLOYMENT_VARIABLES]);
    expect(rows.map((row) => row.name).filter((name) => !known.has(name))).to.deep.equal([]);
    const seen = new Set<string>();
    expect(rows.map((row) => row.name).filter((name) => seen.size === seen.add(name).size)).to.deep.equal([]);
  });

  it('when a default is one plain value, then it is the value .env.example shows', () => {
    const values = exampleValues(example);
    const differing = rows.flatMap((row) => {
      const plain = /^`([^`]*)`$/.exec(row.defaultCell);
      const shown = values.get(row.name);
      return plain && shown !== undefined && plain[1] !== shown
        ? [`${row.name}: ${plain[1]} here, ${shown} in .env.example`]
        : [];
    });
    expect(differing).to.deep.equal([]);
    // The comparison above must have had something to compare, or it proves nothing.
    expect(rows.filter((row) => /^`[^`]*`$/.test(row.defaultCell) && values.has(row.name)).length).to.be.greaterThan(
      50,
    );
  });

  it('when the table is malformed, then parsing says so rather than finding no rows', () => {
    expect(() => parseReferenceTable('# no reference here\n')).to.throw(/no "## Reference" heading/);
    const bad = `${REFERENCE_HEADING}\n\n| variable | area | default | meaning |\n| --- | --- | --- | --- |\n| PORT, HOST | process | x | y |\n`;
    expect(() => parseReferenceTable(`intro\n${bad}`)).to.throw(/one backticked variable/);
  });
});
