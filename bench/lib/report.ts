// The results table on stdout and the raw figures as JSON in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Row } from './scenario.js';
import { show, type Figure } from './stats.js';

const cell = (f: Figure): string => (f.runs.length > 1 ? `${show(f.median)} (${show(f.min)}-${show(f.max)})` : show(f.median));

export function table(rows: readonly Row[]): string {
  const header = ['scenario', 'metric', 'imgd', 'peer', 'peer figure', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.scenario,
    r.metric,
    cell(r.imgd),
    r.peer?.name ?? (r.notes?.[0] ? 'skipped' : '-'),
    r.peer ? cell(r.peer.figure) : '-',
    r.ratio === undefined ? '-' : show(r.ratio),
    r.target,
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: readonly string[]): string => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

export function writeJson(dir: string, payload: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
