// The admin dashboard: uploads, failures, bytes and time per day, processing times per step, storage used, health, queue and users.
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { Hidden, Table } from '../components/table';
import { DayChart, DayTable, fillDays, StepTimes, type Series } from '../components/chart';
import { formatBytes, formatDate, formatMs } from '../format';
import { Link } from '../router';
import type { Readiness, Stats } from '../types';
import { useUsers } from './gallery';

const UPLOADS: Series[] = [
  { name: 'succeeded', tone: 'accent', value: (d) => d.total - d.failed },
  { name: 'failed', tone: 'danger', value: (d) => d.failed },
];
const BYTES: Series[] = [{ name: 'bytes', tone: 'ok', value: (d) => d.bytes }];
const TIME: Series[] = [{ name: 'average time', tone: 'warn', value: (d) => d.average_processing_ms ?? 0 }];
const count = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const QUEUE_LABELS: Record<string, string> = { pending: 'Waiting', running: 'Running', failed: 'Failed for good', done: 'Done' };

function DayCharts({ stats, days }: { stats: Stats; days: number }) {
  const data = fillDays(stats.per_day, days);
  return (
    <>
      <DayChart id="uploads" title="Uploads per day" data={data} series={UPLOADS} format={count} />
      <div class="chart-pair">
        <DayChart id="bytes" title="Bytes uploaded per day" data={data} series={BYTES} format={formatBytes} />
        <DayChart id="time" title="Average time to check and store" data={data} series={TIME} format={formatMs} />
      </div>
      <DayTable data={data} formatBytes={formatBytes} />
    </>
  );
}

function Card({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div class="stat">
      <span class="stat-label">{label}</span>
      <span class="stat-value">{value}</span>
      {note && <span class="stat-note muted">{note}</span>}
    </div>
  );
}

export function AdminPage() {
  const [days, setDays] = useState(30);
  const [stats, setStats] = useState<Stats | null>(null);
  const [ready, setReady] = useState<Readiness | null>(null);
  const [error, setError] = useState<string | null>(null);
  const users = useUsers(true);

  useEffect(() => {
    api<Stats>(`/api/v1/stats?days=${days}`)
      .then(setStats)
      .catch((err: unknown) => setError(messageOf(err)));
  }, [days]);
  useEffect(() => {
    // /readyz answers 503 with the same body when a check fails; read it either way.
    fetch('/readyz', { headers: { accept: 'application/json' } })
      .then(async (res) => setReady((await res.json()) as Readiness))
      .catch(() => setReady({ status: 'unavailable', checks: {} }));
  }, []);

  const rate = stats?.success_rate;
  return (
    <div class="page admin">
      <h1 tabIndex={-1}>Dashboard</h1>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="totals-title">
        <h2 id="totals-title" class="visually-hidden">
          Totals
        </h2>
        <div class="stats">
          <Card label="Uploads (all time)" value={stats ? String(stats.total) : '…'} note={stats ? `${stats.failed} failed` : undefined} />
          <Card label="Success rate" value={rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`} />
          <Card label="Average check and store" value={formatMs(stats?.average_processing_ms)} />
          <Card
            label="Storage used"
            value={stats ? formatBytes(stats.storage.stored_bytes) : '…'}
            note={stats ? `${stats.storage.images} images, ${stats.storage.blobs} distinct originals` : undefined}
          />
        </div>
      </section>

      <section aria-labelledby="chart-title" class="card">
        <div class="section-head">
          <h2 id="chart-title">Over time</h2>
          <label class="inline">
            Period
            <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
              <option value={7}>7 days</option>
              <option value={30}>30 days</option>
              <option value={90}>90 days</option>
            </select>
          </label>
        </div>
        {stats ? <DayCharts stats={stats} days={days} /> : <p class="muted">Loading…</p>}
      </section>

      <div class="two-col">
        <section aria-labelledby="steps-title" class="card">
          <h2 id="steps-title">Processing time per step</h2>
          {stats ? <StepTimes steps={stats.processing} /> : <p class="muted">Loading…</p>}
        </section>
        <section aria-labelledby="queue-title" class="card">
          <h2 id="queue-title">Health and queue</h2>
          <dl class="facts">
            {ready &&
              Object.entries(ready.checks).map(([name, check]) => (
                <div key={name}>
                  <dt>{name}</dt>
                  <dd>
                    <span class={`badge ${check.ok ? 'ready' : 'failed'}`}>{check.ok ? 'ok' : 'failing'}</span>
                    {check.error && <span class="error-text"> {check.error}</span>}
                  </dd>
                </div>
              ))}
            {stats &&
              Object.entries(stats.queue).map(([state, n]) => (
                <div key={state} data-queue={state}>
                  <dt>Jobs: {QUEUE_LABELS[state] ?? state}</dt>
                  <dd>{state === 'failed' && n > 0 ? <Link href="/app/gallery?status=failed">{n}</Link> : n}</dd>
                </div>
              ))}
          </dl>
        </section>
      </div>

      <section aria-labelledby="users-title" class="card">
        <h2 id="users-title">Users</h2>
        {users.length === 0 ? (
          <p class="muted">No user accounts yet.</p>
        ) : (
          <Table columns={['User', 'Email', 'Role', 'Joined', <Hidden key="images">Images</Hidden>]}>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.username}</th>
                <td data-label="Email">{u.email}</td>
                <td data-label="Role">{u.role}</td>
                <td data-label="Joined">{formatDate(u.created_at)}</td>
                <td>
                  <Link href={`/app/gallery?owner=${encodeURIComponent(u.id)}`} aria-label={`Images of ${u.username}`}>
                    Images
                  </Link>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </div>
  );
}
