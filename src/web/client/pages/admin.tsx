// The admin dashboard: uploads and failures per day, processing times per step, storage used, health and users.
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { fillDays, StepTimes, UploadsChart } from '../components/chart';
import { formatBytes, formatDate, formatMs } from '../format';
import { Link } from '../router';
import type { ImagePage, ImageStatus, Readiness, Stats } from '../types';
import { useUsers } from './gallery';

/** The list API has no totals, so the dashboard adds them up page by page, up to this many images. */
const STORAGE_SCAN_LIMIT = 10_000;

interface Storage {
  images: number;
  bytes: number;
  byStatus: Record<ImageStatus, number>;
  complete: boolean;
}

async function scanStorage(): Promise<Storage> {
  const result: Storage = { images: 0, bytes: 0, byStatus: { ready: 0, processing: 0, failed: 0 }, complete: true };
  let cursor: string | null = null;
  do {
    const query: URLSearchParams = new URLSearchParams({ limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const page: ImagePage = await api<ImagePage>(`/api/v1/images?${query}`);
    for (const image of page.items) {
      result.images += 1;
      result.bytes += image.bytes;
      result.byStatus[image.status] += 1;
    }
    cursor = page.next_cursor;
    if (cursor && result.images >= STORAGE_SCAN_LIMIT) {
      result.complete = false;
      break;
    }
  } while (cursor);
  return result;
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
  const [storage, setStorage] = useState<Storage | null>(null);
  const [ready, setReady] = useState<Readiness | null>(null);
  const [error, setError] = useState<string | null>(null);
  const users = useUsers(true);

  useEffect(() => {
    api<Stats>(`/api/v1/stats?days=${days}`)
      .then(setStats)
      .catch((err: unknown) => setError(messageOf(err)));
  }, [days]);
  useEffect(() => {
    scanStorage()
      .then(setStorage)
      .catch((err: unknown) => setError(messageOf(err)));
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
            value={storage ? `${storage.complete ? '' : '≥ '}${formatBytes(storage.bytes)}` : '…'}
            note={storage ? `${storage.images} images${storage.complete ? '' : ' counted'}` : undefined}
          />
        </div>
      </section>

      <section aria-labelledby="chart-title" class="card">
        <div class="section-head">
          <h2 id="chart-title">Uploads per day</h2>
          <label class="inline">
            Period
            <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
              <option value={7}>7 days</option>
              <option value={30}>30 days</option>
              <option value={90}>90 days</option>
            </select>
          </label>
        </div>
        {stats ? <UploadsChart data={fillDays(stats.per_day, days)} /> : <p class="muted">Loading…</p>}
      </section>

      <div class="two-col">
        <section aria-labelledby="steps-title" class="card">
          <h2 id="steps-title">Processing time per step</h2>
          {stats ? <StepTimes steps={stats.processing ?? {}} /> : <p class="muted">Loading…</p>}
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
            {storage && (
              <>
                <div>
                  <dt>Waiting for processing</dt>
                  <dd>{storage.byStatus.processing}</dd>
                </div>
                <div>
                  <dt>Failed processing</dt>
                  <dd>
                    {storage.byStatus.failed > 0 ? <Link href="/app/gallery?status=failed">{storage.byStatus.failed}</Link> : 0}
                  </dd>
                </div>
              </>
            )}
          </dl>
        </section>
      </div>

      <section aria-labelledby="users-title" class="card">
        <h2 id="users-title">Users</h2>
        {users.length === 0 ? (
          <p class="muted">No user accounts yet.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span class="visually-hidden">Images</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id}>
                    <th scope="row">{u.username}</th>
                    <td>{u.email}</td>
                    <td>{u.role}</td>
                    <td>{formatDate(u.created_at)}</td>
                    <td>
                      <Link href={`/app/gallery?owner=${encodeURIComponent(u.id)}`} aria-label={`Images of ${u.username}`}>
                        Images
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
