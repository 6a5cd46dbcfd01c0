// The dashboard's charts, drawn as plain SVG: uploads and failures per day, and time per processing step.
import type { StepStats } from '../types';
import { formatMs } from '../format';

export interface DayCount {
  day: string;
  total: number;
  failed: number;
}

/** Every day of the period, oldest first, with zeros where nothing was uploaded. */
export function fillDays(perDay: readonly DayCount[], days: number, today = new Date()): DayCount[] {
  const byDay = new Map(perDay.map((d) => [d.day.slice(0, 10), d]));
  const out: DayCount[] = [];
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  for (let i = days - 1; i >= 0; i -= 1) {
    const day = new Date(end - i * 86_400_000).toISOString().slice(0, 10);
    const found = byDay.get(day);
    out.push({ day, total: found?.total ?? 0, failed: found?.failed ?? 0 });
  }
  return out;
}

const niceMax = (value: number): number => {
  if (value <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return value;
};

const shortDay = (day: string): string => {
  const [, month, date] = day.split('-');
  return `${Number(date)}/${Number(month)}`;
};

export function UploadsChart({ data }: { data: readonly DayCount[] }) {
  const width = 720;
  const height = 240;
  const pad = { top: 12, right: 12, bottom: 28, left: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...data.map((d) => d.total)));
  const slot = plotW / Math.max(1, data.length);
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const y = (value: number) => pad.top + plotH - (value / max) * plotH;
  const labelEvery = Math.ceil(data.length / 8);
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const total = data.reduce((sum, d) => sum + d.total, 0);
  const failed = data.reduce((sum, d) => sum + d.failed, 0);

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="uploads-chart-title uploads-chart-desc" preserveAspectRatio="xMidYMid meet">
        <title id="uploads-chart-title">Uploads per day</title>
        <desc id="uploads-chart-desc">
          {`${total} uploads over ${data.length} days, ${failed} of them failed.`}
        </desc>
        {ticks.map((t) => (
          <g key={t} class="tick">
            <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} />
            <text x={pad.left - 6} y={y(t) + 4} text-anchor="end">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const x = pad.left + i * slot + (slot - barW) / 2;
          const ok = d.total - d.failed;
          return (
            <g key={d.day} class="bar" data-day={d.day}>
              <title>{`${d.day}: ${d.total} uploads, ${d.failed} failed`}</title>
              {ok > 0 && <rect class="ok" x={x} y={y(d.total)} width={barW} height={y(d.failed) - y(d.total)} />}
              {d.failed > 0 && <rect class="failed" x={x} y={y(d.failed)} width={barW} height={y(0) - y(d.failed)} />}
              {i % labelEvery === 0 && (
                <text class="day" x={x + barW / 2} y={height - 8} text-anchor="middle">
                  {shortDay(d.day)}
                </text>
              )}
            </g>
          );
        })}
        <line class="axis" x1={pad.left} x2={width - pad.right} y1={y(0)} y2={y(0)} />
      </svg>
      <figcaption class="legend">
        <span class="swatch ok" aria-hidden="true" /> succeeded <span class="swatch failed" aria-hidden="true" /> failed
      </figcaption>
      <details class="chart-table">
        <summary>Show as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Uploads</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {data
              .filter((d) => d.total > 0)
              .map((d) => (
                <tr key={d.day}>
                  <td>{d.day}</td>
                  <td>{d.total}</td>
                  <td>{d.failed}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Average and 95th-percentile time of each processing step, as bars against the slowest. */
export function StepTimes({ steps }: { steps: Record<string, StepStats> }) {
  const entries = Object.entries(steps);
  if (entries.length === 0) return <p class="muted">No processing has run in this period.</p>;
  const max = Math.max(1, ...entries.map(([, s]) => s.p95_ms ?? s.average_ms ?? 0));
  return (
    <table class="steps">
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">Runs</th>
          <th scope="col">Failed</th>
          <th scope="col">Average</th>
          <th scope="col">p95</th>
          <th scope="col" class="bar-col">
            <span class="visually-hidden">Time, as a bar</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([step, s]) => (
          <tr key={step}>
            <th scope="row">{step}</th>
            <td>{s.runs}</td>
            <td>{s.failed}</td>
            <td>{formatMs(s.average_ms)}</td>
            <td>{formatMs(s.p95_ms)}</td>
            <td class="bar-col" aria-hidden="true">
              <span class="hbar p95" style={{ width: `${((s.p95_ms ?? 0) / max) * 100}%` }} />
              <span class="hbar avg" style={{ width: `${((s.average_ms ?? 0) / max) * 100}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
