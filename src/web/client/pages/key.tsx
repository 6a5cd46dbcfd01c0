// The page of one key (/k/product/42/main): upload into it, see its latest image and its history.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { CopyButtons } from '../components/copy';
import { Picture } from '../components/picture';
import { Uploader } from '../components/uploader';
import { formatBytes, formatDate, imageName } from '../format';
import { Link } from '../router';
import type { Image, ImagePage, Visibility } from '../types';
import { VisibilityField } from './upload';

const PROCESSING_POLL_MS = 1000;

interface KeyPageProps {
  imageKey: string;
  /** An upload token from the link (?token=): uploads work with it even when nobody is signed in. */
  token: string | null;
  signedIn: boolean;
}

export function KeyPage({ imageKey, token, signedIn }: KeyPageProps) {
  const [visibility, setVisibility] = useState<Visibility>('public');
  const [history, setHistory] = useState<Image[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useRef<number>();
  const load = useCallback(async () => {
    if (!signedIn) return;
    window.clearTimeout(refresh.current);
    try {
      const page = await api<ImagePage>(`/api/v1/images?${new URLSearchParams({ key: imageKey, limit: '50' })}`);
      setHistory(page.items);
      setError(null);
      // Thumbnails and placeholders arrive when processing is done: look again until it is.
      if (page.items.some((image) => image.status === 'processing')) refresh.current = window.setTimeout(() => void load(), PROCESSING_POLL_MS);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [imageKey, signedIn]);

  useEffect(() => {
    setHistory(null);
    void load();
    return () => window.clearTimeout(refresh.current);
  }, [load]);

  const [latest, ...older] = history ?? [];
  return (
    <div class="page">
      <h1 tabIndex={-1}>
        Key <code class="key-name">{imageKey}</code>
      </h1>
      <p class="muted">Images uploaded here are filed under this key; the newest one is its current image.</p>
      <div class="card form">
        <VisibilityField id="key-visibility" value={visibility} onChange={setVisibility} />
      </div>
      <Uploader fields={{ key: imageKey, visibility, description: '' }} token={token} onUploaded={() => void load()} />

      {!signedIn && <p class="notice">Signed out: this link can upload, but only a signed-in owner sees the key's images.</p>}
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {signedIn && history !== null && (
        <section class="key-latest" aria-labelledby="latest-title">
          <h2 id="latest-title">Latest image</h2>
          {latest ? (
            <div class="latest card">
              <Link href={`/app/images/${encodeURIComponent(latest.id)}`} class="latest-picture">
                <Picture image={latest} variant="medium" alt={latest.description ?? imageName(latest)} eager />
              </Link>
              <div>
                <p>
                  <strong>{imageName(latest)}</strong> <span class="muted">· {formatDate(latest.created_at)} · {formatBytes(latest.bytes)}</span>
                </p>
                <CopyButtons image={latest} name={imageName(latest)} />
              </div>
            </div>
          ) : (
            <p class="muted">Nothing uploaded under this key yet.</p>
          )}
        </section>
      )}
      {signedIn && older.length > 0 && (
        <section aria-labelledby="history-title">
          <h2 id="history-title">History</h2>
          <ol class="history">
            {older.map((image) => (
              <li key={image.id}>
                <Link href={`/app/images/${encodeURIComponent(image.id)}`} class="history-item">
                  <Picture image={image} variant="small" alt="" cover />
                  <span>
                    {imageName(image)}
                    <span class="muted"> · {formatDate(image.created_at)}</span>
                  </span>
                </Link>
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}
