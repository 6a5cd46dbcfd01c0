// One image: the picture and its variants, its facts and EXIF, and what its owner can do with it
// (describe, make public or private, share, copy links, delete).
import { plainError } from '../error-text';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf, serverSettings } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyButton, SnippetFields } from '../components/copy';
import { Picture } from '../components/picture';
import { useAction } from '../components/use-action';
import { downloadOriginal } from '../library';
import { formatBytes, formatDate, imageName } from '../format';
import { keyPath, Link, navigate } from '../router';
import type { Image, Visibility } from '../types';
import { VisibilityField } from './upload';

const SHARE_CHOICES: Array<[number, string]> = [
  [3600, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];

const humanKey = (key: string): string =>
  key
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/^./, (c) => c.toUpperCase());

/** Labels and units for the fields of the server's EXIF summary (src/core/metadata/exif.ts); others are shown as they come. */
const EXIF_FIELDS: Record<string, [string, (v: number) => string]> = {
  exposure_time: ['Exposure', (v) => (v < 1 ? `1/${Math.round(1 / v)} s` : `${v} s`)],
  f_number: ['Aperture', (v) => `f/${v}`],
  iso: ['ISO', (v) => String(v)],
  focal_length: ['Focal length', (v) => `${v} mm`],
  focal_length_35mm: ['Focal length (35 mm eq.)', (v) => `${v} mm`],
  width: ['Width (camera)', (v) => `${v} px`],
  height: ['Height (camera)', (v) => `${v} px`],
};
const exifLabel = (key: string): string => EXIF_FIELDS[key]?.[0] ?? (key === 'gps' ? 'Location' : key === 'taken_at' ? 'Taken' : humanKey(key));

function ExifValue({ name, value }: { name?: string; value: unknown }): ComponentChildren {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  const unit = name === undefined ? undefined : EXIF_FIELDS[name];
  if (unit && typeof value === 'number') return unit[1](value);
  if (name === 'taken_at' && typeof value === 'string') return value.replace('T', ' ');
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ');
  if (typeof value === 'object') return <ExifList data={value as Record<string, unknown>} />;
  return String(value);
}

function ExifList({ data }: { data: Record<string, unknown> }) {
  const entries = Object.entries(data).filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <dl class="facts exif">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{exifLabel(k)}</dt>
          <dd>
            <ExifValue name={k} value={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function DetailPage({ id }: { id: string }) {
  const [image, setImage] = useState<Image | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const load = async () => {
      try {
        const found = await api<Image>(`/api/v1/images/${encodeURIComponent(id)}`);
        if (stopped) return;
        setImage(found);
        // EXIF, variants and the placeholder arrive when processing is done.
        if (found.status === 'processing') timer = window.setTimeout(() => void load(), 1500);
      } catch (err) {
        if (!stopped) setError(messageOf(err));
      }
    };
    setImage(null);
    setError(null);
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [id]);

  if (error) {
    return (
      <div class="page">
        <h1 tabIndex={-1}>Image not available</h1>
        <p class="error-text" role="alert">
          {error}
        </p>
        <Link href="/app/gallery">Back to the gallery</Link>
      </div>
    );
  }
  if (!image) return <p class="page muted">Loading…</p>;
  return <ImageDetail image={image} onChange={setImage} />;
}

function ImageDetail({ image, onChange }: { image: Image; onChange: (image: Image) => void }) {
  const name = imageName(image);
  const variants = Object.keys(image.variants);
  return (
    <div class="page detail">
      <p class="crumbs">
        <Link href="/app/gallery">← Gallery</Link>
      </p>
      <h1 tabIndex={-1}>{name}</h1>
      <div class="detail-grid">
        <div class="detail-media">
          <Picture image={image} variant="medium" alt={image.description ?? image.caption ?? name} eager />
          {variants.length > 0 && (
            <section aria-labelledby="variants-title">
              <h2 id="variants-title">Variants</h2>
              <ul class="variants">
                {variants.map((v) => (
                  <li key={v}>
                    <Picture image={image} variant={v} alt={`${v} variant`} cover />
                    <span class="variant-name">
                      {v}
                      {image.visibility === 'public' && (
                        <>
                          {' '}
                          · <a href={image.variants[v]}>open</a>
                        </>
                      )}
                    </span>
                    {image.visibility === 'public' && <CopyButton label="Copy URL" text={image.variants[v] ?? ''} what={`the URL of the ${v} variant`} />}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
        <div class="detail-side">
          <section aria-labelledby="facts-title">
            <h2 id="facts-title">Details</h2>
            <dl class="facts">
              <Fact label="Status">
                <span class={`badge ${image.status}`}>{image.status}</span>
                {image.error && <span class="error-text"> {plainError(undefined, image.error)}</span>}
              </Fact>
              <Fact label="Dimensions">
                {image.width} × {image.height} px{image.frames > 1 ? `, ${image.frames} frames` : ''}
              </Fact>
              <Fact label="Size">{formatBytes(image.bytes)}</Fact>
              <Fact label="Format">{image.format.toUpperCase()}</Fact>
              <Fact label="Stored as">{image.filename}</Fact>
              <Fact label="Visibility">{image.visibility}</Fact>
              <Fact label="Key">{image.key ? <Link href={keyPath(image.key)}>{image.key}</Link> : <span class="muted">none</span>}</Fact>
              <Fact label="Uploaded">{formatDate(image.created_at)}</Fact>
              {image.caption && <Fact label="Caption">{image.caption}</Fact>}
              <Fact label="SHA-256">
                <code class="hash">{image.sha256}</code>
              </Fact>
            </dl>
          </section>
          <section aria-labelledby="exif-title">
            <h2 id="exif-title">EXIF</h2>
            {image.exif !== null && typeof image.exif === 'object' ? (
              <ExifList data={image.exif as Record<string, unknown>} />
            ) : (
              <p class="muted">{image.status === 'processing' ? 'Reading the camera data…' : 'No camera data in this image.'}</p>
            )}
          </section>
          <EditForm image={image} onChange={onChange} />
          <section aria-labelledby="links-title">
            <h2 id="links-title">Links</h2>
            {image.visibility === 'private' && <p class="muted">Private: these links work only for you. Share it with a share link below.</p>}
            <SnippetFields image={image} />
            <p class="inline">
              <DownloadButton image={image} />
              {image.visibility === 'public' && (
                <a href={image.page_url} target="_blank" rel="noopener">
                  Viewer page (link preview)
                </a>
              )}
            </p>
          </section>
          {image.visibility === 'private' && <ShareForm image={image} />}
          <DeleteButton image={image} />
        </div>
      </div>
    </div>
  );
}

function EditForm({ image, onChange }: { image: Image; onChange: (image: Image) => void }) {
  const [description, setDescription] = useState(image.description ?? '');
  const [visibility, setVisibility] = useState<Visibility>(image.visibility);
  const [key, setKey] = useState(image.key ?? '');
  const [state, setState] = useState<{ busy: boolean; error: string | null; saved: boolean }>({ busy: false, error: null, saved: false });
  useEffect(() => {
    setDescription(image.description ?? '');
    setVisibility(image.visibility);
    setKey(image.key ?? '');
  }, [image.id, image.description, image.visibility, image.key]);

  const save = async (event: Event) => {
    event.preventDefault();
    setState({ busy: true, error: null, saved: false });
    try {
      const updated = await api<Image>(`/api/v1/images/${encodeURIComponent(image.id)}`, {
        method: 'PATCH',
        json: { description: description.trim() === '' ? null : description, visibility, key: key.trim() === '' ? null : key.trim() },
      });
      onChange(updated);
      setState({ busy: false, error: null, saved: true });
    } catch (err) {
      setState({ busy: false, error: messageOf(err), saved: false });
    }
  };
  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">Edit</h2>
      <form class="form" onSubmit={(e) => void save(e)}>
        <label for="edit-description">Description</label>
        <textarea id="edit-description" rows={3} maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <label for="edit-key">Key</label>
        <input id="edit-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <VisibilityField id="edit-visibility" value={visibility} onChange={setVisibility} />
        {state.error && (
          <p class="error-text" role="alert">
            {state.error}
          </p>
        )}
        <div class="inline">
          <button class="primary" type="submit" disabled={state.busy}>
            {state.busy ? 'Saving…' : 'Save changes'}
          </button>
          <span role="status" class="muted">
            {state.saved ? 'Saved.' : ''}
          </span>
        </div>
      </form>
    </section>
  );
}

function ShareForm({ image }: { image: Image }) {
  const max = serverSettings().shareMaxSeconds;
  const choices = SHARE_CHOICES.filter(([seconds]) => seconds <= max);
  const [expiresIn, setExpiresIn] = useState(choices[0]?.[0] ?? max);
  const [link, setLink] = useState<{ url: string; page_url?: string; expires_at: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setLink(await api<{ url: string; page_url?: string; expires_at: string }>(`/api/v1/images/${encodeURIComponent(image.id)}/share`, { method: 'POST', json: { expires_in: expiresIn } }));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section aria-labelledby="share-title">
      <h2 id="share-title">Share link</h2>
      <form class="form" onSubmit={(e) => void create(e)}>
        <label for="share-expiry">Valid for</label>
        <div class="inline">
          <select id="share-expiry" value={expiresIn} onChange={(e) => setExpiresIn(Number(e.currentTarget.value))}>
            {choices.map(([seconds, label]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
          <button type="submit">Create share link</button>
        </div>
        {error && (
          <p class="error-text" role="alert">
            {error}
          </p>
        )}
      </form>
      {link && (
        <div class="share-link">
          <label for="share-url">Anyone with this link can see the image until {formatDate(link.expires_at)}</label>
          <div class="inline">
            <input id="share-url" readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton label="Copy" text={link.url} what="the share link" />
          </div>
          {link.page_url && (
            <div class="inline">
              <a href={link.page_url} target="_blank" rel="noopener">
                Viewer page
              </a>
              <CopyButton label="Copy page link" text={link.page_url} what="the share link of the viewer page" />
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function DownloadButton({ image }: { image: Image }) {
  const { busy, error, run } = useAction(() => downloadOriginal(image));
  return (
    <>
      <button type="button" onClick={() => void run()} disabled={busy}>
        Download original
      </button>
      {error && (
        <span class="error-text" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

function DeleteButton({ image }: { image: Image }) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <section aria-labelledby="delete-title" class="danger-zone">
      <h2 id="delete-title">Delete</h2>
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>
        Delete image…
      </button>
      <ConfirmDialog
        dialog={dialog}
        id="delete-dialog"
        title={`Delete ${imageName(image)}?`}
        confirmLabel="Delete"
        busyLabel="Deleting…"
        action={() => api(`/api/v1/images/${encodeURIComponent(image.id)}`, { method: 'DELETE' }).then(() => undefined)}
        onDone={() => navigate('/app/gallery')}
      >
        It goes to the trash: its URL, every variant and share link stop working at once. Restore it from the trash until it is
        deleted for good.
      </ConfirmDialog>
    </section>
  );
}
