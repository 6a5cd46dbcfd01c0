// The dashboard's charts, drawn as plain SVG: a bar per day (stacked where a day has parts), and time per processing step.
import type { DayStats, StepStats } from '../types';
import { formatMs } from '../format';
import { Hidden, Table } from './table';

/** Every day of the period, oldest first, with zeros where nothing was uploaded. */
export function fillDays(perDay: readonly DayStats[], days: number, today = new Date()): DayStats[] {
  const byDay = new Map(perDay.map((d) => [d.day.slice(0, 10), d]));
  const out: DayStats[] = [];
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  for (let i = days - 1; i >= 0; i -= 1) {
    const day = new Date(end - i * 86_400_000).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { day, total: 0, failed: 0, bytes: 0, average_processing_ms: null });
  }
  return out;
}

/** A round top for the axis: 1, 2, 2.5 or 5 times a power of ten. */
const niceMax = (value: number): number => {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return value;
};

const shortDay = (day: string): string => {
  const [, month, date] = day.split('-');
  return `${Number(date)}/${Number(month)}`;
};

/** One part of a day's bar; the parts stack from the axis up in the order given. */
export interface Series {
  name: string;
  /** CSS class that colours the part and its legend swatch. */
  tone: 'accent' | 'danger' | 'ok' | 'warn';
  value: (d: DayStats) => number;
}

interface DayChartProps {
  id: string;
  title: string;
  data: readonly DayStats[];
  series: readonly Series[];
  /** How a value is written on the axis and in tooltips. */
  format: (value: number) => string;
}

export function DayChart({ id, title, data, series, format }: DayChartProps) {
  const width = 720;
  const height = 200;
  const pad = { top: 10, right: 8, bottom: 24, left: 64 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const sums = data.map((d) => series.reduce((sum, s) => sum + s.value(d), 0));
  const max = niceMax(Math.max(0, ...sums));
  const slot = plotW / Math.max(1, data.length);
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const y = (value: number) => pad.top + plotH - (value / max) * plotH;
  const labelEvery = Math.ceil(data.length / 8);
  const ticks = [0, max / 2, max];
  const described = series.map((s) => `${s.name}: ${format(data.reduce((sum, d) => sum + s.value(d), 0))}`).join(', ');

  return (
    <figure class="chart" data-chart={id}>
      <figcaption class="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title} over ${data.length} days; in all, ${described}.`}>
        {ticks.map((t) => (
          <g key={t} class="tick">
            <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} />
            <text x={pad.left - 6} y={y(t) + 4} text-anchor="end">
              {format(t)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const x = pad.left + i * slot + (slot - barW) / 2;
          let base = 0;
          return (
            <g key={d.day} class="bar" data-day={d.day}>
              <title>{`${d.day}: ${series.map((s) => `${s.name} ${format(s.value(d))}`).join(', ')}`}</title>
              {series.map((s) => {
                const v = s.value(d);
                const from = base;
                base += v;
                return v > 0 ? <rect key={s.name} class={s.tone} x={x} y={y(from + v)} width={barW} height={y(from) - y(from + v)} /> : null;
              })}
              {i % labelEvery === 0 && (
                <text class="day" x={x + barW / 2} y={height - 6} text-anchor="middle">
                  {shortDay(d.day)}
                </text>
              )}
            </g>
          );
        })}
        <line class="axis" x1={pad.left} x2={width - pad.right} y1={y(0)} y2={y(0)} />
      </svg>
      {series.length > 1 && (
        <div class="legend" aria-hidden="true">
          {series.map((s) => (
            <span key={s.name}>
              <span class={`swatch ${s.tone}`} /> {s.name}
            </span>
          ))}
        </div>
      )}
    </figure>
  );
}

/** The same numbers as the charts, for those who read tables (and screen readers). */
export function DayTable({ data, formatBytes }: { data: readonly DayStats[]; formatBytes: (n: number) => string }) {
  const active = data.filter((d) => d.total > 0);
  return (
    <details class="chart-table">
      <summary>Show the days as a table</summary>
      {active.length === 0 ? (
        <p class="muted">No uploads in this period.</p>
      ) : (
        <Table columns={['Day', 'Uploads', 'Failed', 'Bytes', 'Average time']}>
          {active.map((d) => (
            <tr key={d.day}>
              <td>{d.day}</td>
              <td data-label="Uploads">{d.total}</td>
              <td data-label="Failed">{d.failed}</td>
              <td data-label="Bytes">{formatBytes(d.bytes)}</td>
              <td data-label="Average time">{formatMs(d.average_processing_ms)}</td>
            </tr>
          ))}
        </Table>
      )}
    </details>
  );
}

/** Average and 95th-percentile time of each processing step, as bars against the slowest. */
export function StepTimes({ steps }: { steps: Record<string, StepStats> }) {
  const entries = Object.entries(steps);
  if (entries.length === 0) return <p class="muted">No processing has run in this period.</p>;
  const max = Math.max(1, ...entries.map(([, s]) => s.p95_ms ?? s.average_ms ?? 0));
  return (
    <Table class="steps" columns={['Step', 'Runs', 'Failed', 'Average', 'p95', <Hidden key="bar">Time, as a bar</Hidden>]}>
      {entries.map(([step, s]) => (
        <tr key={step}>
          <th scope="row">{step}</th>
          <td data-label="Runs">{s.runs}</td>
          <td data-label="Failed">{s.failed}</td>
          <td data-label="Average">{formatMs(s.average_ms)}</td>
          <td data-label="p95">{formatMs(s.p95_ms)}</td>
          <td class="bar-col" aria-hidden="true">
            <span class="hbar p95" style={{ width: `${((s.p95_ms ?? 0) / max) * 100}%` }} />
            <span class="hbar avg" style={{ width: `${((s.average_ms ?? 0) / max) * 100}%` }} />
          </td>
        </tr>
      ))}
    </Table>
  );
}
