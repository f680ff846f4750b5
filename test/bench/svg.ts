// Bar charts as SVG text, for test/bench/REPORT.md: no browser, no dependency. One chart = groups of bars (one bar
// per series in each group), a value axis from 0, labels under the groups and the value over each bar.

export interface ChartInput {
  title: string;
  unit: string;
  /** e.g. the targets */
  groups: string[];
  /** e.g. p50/p95/p99, or a single series */
  series: Array<{ name: string; values: number[] }>;
}

const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948'];
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (value: number) =>
  !Number.isFinite(value) ? '-' : value >= 100 ? Math.round(value).toString() : value.toFixed(1);

/** What both charts share: the canvas, the title, the value axis and its label. */
const WIDTH = 760;
const HEIGHT = 340;
const LEFT = 60;
const TOP = 40;

function frame(title: string, unit: string, plotHeight: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH - 20}" y2="${TOP + plotHeight}" stroke="#333"/>`,
    `<text x="14" y="${TOP + plotHeight / 2}" transform="rotate(-90 14 ${TOP + plotHeight / 2})" text-anchor="middle">${escape(unit)}</text>`,
  ];
}

/** A colour swatch and the name of each series, in a row under the plot, `spacing` pixels apart. */
function legend(series: Array<{ name: string }>, spacing: number): string[] {
  return series.flatMap(({ name }, s) => [
    `<rect x="${LEFT + s * spacing}" y="${HEIGHT - 22}" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/>`,
    `<text x="${LEFT + s * spacing + 16}" y="${HEIGHT - 12}">${escape(name)}</text>`,
  ]);
}

export function barChart(input: ChartInput): string {
  const [width, height, left, top] = [WIDTH, HEIGHT, LEFT, TOP];
  const bottom = 90;
  const plotHeight = height - top - bottom;
  const plotWidth = width - left - 20;
  const max = Math.max(1, ...input.series.flatMap((s) => s.values.filter(Number.isFinite))) * 1.15;
  const groupWidth = plotWidth / input.groups.length;
  const barWidth = Math.min(48, (groupWidth * 0.8) / input.series.length);
  const y = (value: number) => top + plotHeight - (Math.max(0, value) / max) * plotHeight;
  const parts = frame(input.title, input.unit, plotHeight);
  for (let tick = 0; tick <= 4; tick += 1) {
    const value = (max / 1.15) * (tick / 4);
    parts.push(
      `<line x1="${left}" y1="${y(value)}" x2="${width - 20}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${y(value) + 4}" text-anchor="end">${label(value)}</text>`,
    );
  }
  input.groups.forEach((group, g) => {
    const start = left + g * groupWidth + (groupWidth - barWidth * input.series.length) / 2;
    input.series.forEach((series, s) => {
      const value = series.values[g] ?? NaN;
      const x = start + s * barWidth;
      if (Number.isFinite(value))
        parts.push(
          `<rect x="${x}" y="${y(value)}" width="${barWidth - 2}" height="${top + plotHeight - y(value)}" fill="${COLOURS[s % COLOURS.length]}"/>`,
        );
      parts.push(
        `<text x="${x + barWidth / 2 - 1}" y="${(Number.isFinite(value) ? y(value) : top + plotHeight) - 3}" text-anchor="middle" font-size="10">${label(value)}</text>`,
      );
    });
    const words = group.split(' ');
    const lines = [
      words.slice(0, Math.ceil(words.length / 2)).join(' '),
      words.slice(Math.ceil(words.length / 2)).join(' '),
    ];
    lines.forEach((line, i) =>
      parts.push(
        `<text x="${left + g * groupWidth + groupWidth / 2}" y="${top + plotHeight + 16 + i * 13}" text-anchor="middle">${escape(line)}</text>`,
      ),
    );
  });
  if (input.series.length > 1) parts.push(...legend(input.series, 110));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export interface LineChartInput {
  title: string;
  /** The x axis's unit, e.g. "minutes". */
  xUnit: string;
  unit: string;
  series: Array<{ name: string; points: Array<{ x: number; y: number }> }>;
}

/** Lines over a shared x axis (e.g. each instance's heap over a soak), axes from 0, a legend under the plot. */
export function lineChart(input: LineChartInput): string {
  const [width, height, left, top] = [WIDTH, HEIGHT, LEFT, TOP];
  const bottom = 70;
  const plotHeight = height - top - bottom;
  const plotWidth = width - left - 20;
  const points = input.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const maxX = Math.max(1e-9, ...points.map((p) => p.x));
  const maxY = Math.max(1, ...points.map((p) => p.y)) * 1.15;
  const x = (value: number) => left + (value / maxX) * plotWidth;
  const y = (value: number) => top + plotHeight - (Math.max(0, value) / maxY) * plotHeight;
  const parts = [
    ...frame(input.title, input.unit, plotHeight),
    `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 30}" text-anchor="middle">${escape(input.xUnit)}</text>`,
  ];
  for (let tick = 0; tick <= 4; tick += 1) {
    const valueY = (maxY / 1.15) * (tick / 4);
    const valueX = maxX * (tick / 4);
    parts.push(
      `<line x1="${left}" y1="${y(valueY)}" x2="${width - 20}" y2="${y(valueY)}" stroke="#ddd"/>`,
      `<text x="${left - 4}" y="${y(valueY) + 4}" text-anchor="end">${label(valueY)}</text>`,
      `<text x="${x(valueX)}" y="${top + plotHeight + 14}" text-anchor="middle">${label(valueX)}</text>`,
    );
  }
  input.series.forEach((series, s) => {
    const path = series.points
      .filter((p) => Number.isFinite(p.y))
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${COLOURS[s % COLOURS.length]}" stroke-width="1.5"/>`);
  });
  parts.push(...legend(input.series, 150));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
