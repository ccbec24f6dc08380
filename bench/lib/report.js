// The run's figures as a table (stdout and bench/results.md) and as data (bench/results.json).
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchDir, pinning } from './processes.js';

const grouped = (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const ms = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

/** Ratios to the bare baseline (the mean of its runs) and each target's verdict, on the rows in place. */
export function evaluate(rows) {
  const bare = rows.filter((r) => r.baseline);
  const bareRps = bare.reduce((sum, r) => sum + r.rps, 0) / bare.length;
  const named = new Map(rows.map((r) => [r.name, r]));
  for (const row of rows) {
    row.ratio = Math.round((row.rps / bareRps) * 1000) / 10;
    const t = row.target;
    if (!t) continue;
    if (t.ratioAtLeast !== undefined) {
      row.targetText = `≥ ${t.ratioAtLeast}% of bare`;
      row.met = row.ratio >= t.ratioAtLeast;
    } else if (t.p99AtMost !== undefined) {
      row.targetText = `p99 ≤ ${t.p99AtMost} ms`;
      row.met = row.p99 <= t.p99AtMost;
    } else if (t.withinPercentOf !== undefined) {
      const other = named.get(t.withinPercentOf);
      const change = Math.round((row.rps / other.rps - 1) * 1000) / 10;
      row.targetText = `within ${t.pct}% of the 1k row`;
      row.met = Math.abs(change) <= t.pct;
      row.detail = `${change > 0 ? '+' : ''}${change}%`;
    } else if (t.tesseraTimes !== undefined) {
      const ours = named.get(t.tesseraTimes);
      const times = Math.round((ours.rps / row.rps) * 10) / 10;
      row.targetText = `Tessera ≥ ${t.min}× (${t.tesseraTimes.replace(/^whoami, /, '')})`;
      row.met = times >= t.min;
      row.detail = `${times}×`;
    }
  }
  return bareRps;
}

function verdict(met, detail) {
  if (met === undefined || met === null) return detail ?? '';
  return `${met ? 'yes' : '**no**'}${detail ? ` (${detail})` : ''}`;
}

/** The Markdown the README pastes: one table of load scenarios, one of the other measures. */
export function markdown(run) {
  const lines = [
    `${run.date.slice(0, 10)}, ${run.machine.cpu} × ${run.machine.cores}, Node ${run.node}, ${run.generator}` +
      ` (${run.connections} connections, ${run.durationSeconds} s per scenario${run.quick ? ', --quick' : ''}),` +
      ` ${run.pinning}.`,
    '',
    '| scenario | req/s | % of bare | p50 ms | p99 ms | target | met? |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of run.scenarios) {
    lines.push(
      `| ${r.name} | ${grouped(r.rps)} | ${r.paced ? 'paced' : `${r.ratio}%`} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.targetText ?? ''} | ${verdict(r.met, r.detail)} |`,
    );
  }
  if (run.figures.length > 0) {
    lines.push('', '| measure | value | target | met? |', '| --- | --- | --- | --- |');
    for (const f of run.figures) lines.push(`| ${f.name} | ${f.value} | ${f.target} | ${verdict(f.met)} |`);
  }
  if (run.notes.length > 0) lines.push('', ...run.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Writes results.json and results.md; returns the Markdown. */
export function write(run) {
  const text = markdown(run);
  writeFileSync(join(benchDir, 'results.json'), `${JSON.stringify({ ...run, pinning: pinning.note }, null, 2)}\n`);
  writeFileSync(join(benchDir, 'results.md'), text);
  return text;
}
