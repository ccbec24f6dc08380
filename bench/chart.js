// bench/chart.svg, drawn by hand (no dependency): per credential kind, warm and cold throughput as
// a percentage of bare node:http with the 85% target line, then p99 latency on a log scale.
// Usable alone, `node bench/chart.js` redraws it from bench/results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COLORS = { warm: '#2563eb', cold: '#93c5fd', peer: '#ea580c' };
const WIDTH = 960;
const LEFT = 70;
const RIGHT = 20;
const PANEL = 230;

const xml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Groups of bars: one per credential kind (warm, cold), then Better Auth's scenarios if run. */
function groups(run) {
  const out = [];
  for (const row of run.scenarios.filter((r) => r.chart)) {
    let group = out.find((g) => g.label === row.chart.kind);
    if (!group) {
      group = { label: row.chart.kind, bars: [] };
      out.push(group);
    }
    group.bars.push({ kind: row.chart.temp, row });
  }
  const peers = run.scenarios.filter((r) => r.peer);
  if (peers.length > 0) {
    out.push({
      label: 'Better Auth',
      bars: peers.map((row) => ({ kind: 'peer', row, note: row.name.includes('API key') ? 'key' : 'cookie' })),
    });
  }
  return out;
}

function panel(parts, top, title, list, value, scale, ticks, line) {
  const plot = WIDTH - LEFT - RIGHT;
  const bottom = top + PANEL;
  parts.push(`<text x="${LEFT}" y="${top - 12}" class="title">${xml(title)}</text>`);
  for (const tick of ticks) {
    const y = bottom - scale(tick) * PANEL;
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${y + 4}" class="tick" text-anchor="end">${xml(tick.label)}</text>`);
  }
  if (line) {
    const y = bottom - scale(line) * PANEL;
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" class="target"/>`);
    parts.push(
      `<text x="${WIDTH - RIGHT - 4}" y="${y - 4}" class="tick" text-anchor="end">target ${line.label}</text>`,
    );
  }
  const slot = plot / list.length;
  list.forEach((group, i) => {
    const barWidth = Math.min(34, (slot - 16) / group.bars.length);
    const x0 = LEFT + i * slot + (slot - barWidth * group.bars.length) / 2;
    group.bars.forEach((bar, j) => {
      const v = value(bar.row);
      const h = Math.max(1, Math.min(1, scale(v)) * PANEL);
      const x = x0 + j * barWidth;
      const label = bar.note ?? bar.kind;
      parts.push(
        `<rect x="${x + 1}" y="${bottom - h}" width="${barWidth - 2}" height="${h}" fill="${COLORS[bar.kind]}">` +
          `<title>${xml(`${bar.row.name}: ${v.label}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${x + barWidth / 2}" y="${bottom - h - 4}" class="value" text-anchor="middle">${xml(v.short)}</text>`,
      );
      parts.push(
        `<text x="${x + barWidth / 2}" y="${bottom + 12}" class="tick" text-anchor="middle">${xml(label)}</text>`,
      );
    });
    parts.push(
      `<text x="${LEFT + i * slot + slot / 2}" y="${bottom + 28}" class="label" text-anchor="middle">${xml(group.label)}</text>`,
    );
  });
}

export function drawChart(run) {
  const list = groups(run);
  const height = 60 + 2 * (PANEL + 80);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    `<title>Tessera whoami per credential kind, warm and cold: req/s as % of bare node:http, and p99 latency (${xml(run.date.slice(0, 10))})</title>`,
    '<style>.title{font-size:15px;font-weight:600}.tick{font-size:10px;fill:#555}.value{font-size:10px;fill:#222}' +
      '.label{font-size:12px}.grid{stroke:#e5e7eb}.target{stroke:#dc2626;stroke-dasharray:5 4}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" class="title">Tessera whoami per credential kind — ${xml(run.date.slice(0, 10))}, ${xml(run.generator)}, ${run.connections} connections, Node ${xml(run.node)}</text>`,
  ];
  const maxRatio = Math.max(100, ...list.flatMap((g) => g.bars.map((b) => b.row.ratio)));
  const ratio = (row) => ({ n: row.ratio, label: `${row.ratio}% of bare`, short: `${Math.round(row.ratio)}%` });
  const linear = (v) => (v.n ?? v) / maxRatio;
  const ratioTicks = Array.from({ length: Math.floor(maxRatio / 25) + 1 }, (_, i) => ({
    n: i * 25,
    label: `${i * 25}%`,
  }));
  panel(parts, 70, 'req/s as % of bare node:http (same run)', list, ratio, (v) => linear(v.n), ratioTicks, {
    n: 85,
    label: '85%',
  });

  const maxP99 = Math.max(10, ...list.flatMap((g) => g.bars.map((b) => b.row.p99)));
  const decades = Math.ceil(Math.log10(maxP99)) + 1; // from 0.1 ms
  const log = (v) => Math.max(0, (Math.log10(v.n) + 1) / decades);
  const p99 = (row) => ({
    n: row.p99,
    label: `p99 ${row.p99} ms`,
    short: `${row.p99 < 10 ? row.p99.toFixed(1) : Math.round(row.p99)}`,
  });
  const logTicks = Array.from({ length: decades + 1 }, (_, i) => {
    const n = 10 ** (i - 1);
    return { n, label: `${n} ms` };
  });
  panel(parts, 70 + PANEL + 80, 'p99 latency, ms (log scale)', list, p99, log, logTicks, null);

  const legendY = height - 10;
  [
    ['warm: caches on, one credential repeated', COLORS.warm],
    ['cold: TESSERA_TOKEN_CACHE=0 (Basic: its cache off too)', COLORS.cold],
    ['Better Auth 1.7.5 getSession', COLORS.peer],
  ].forEach(([text, color], i) => {
    const x = LEFT + i * 300;
    parts.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${x + 18}" y="${legendY}" class="tick">${xml(text)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const run = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  // The committed chart stands for a full run: redrawing it from a smoke test would mislead.
  if (run.quick) throw new Error('bench/results.json is from a --quick run; chart.svg is drawn only from a full one');
  writeFileSync(join(dir, 'chart.svg'), drawChart(run));
}
