// Albums: the list with a form to make one; one album's images, with rename, share link, remove and delete.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyButton } from '../components/copy';
import { Lightbox } from '../components/lightbox';
import { Picture } from '../components/picture';
import { useAction } from '../components/use-action';
import { imageName } from '../format';
import { Link, navigate } from '../router';
import type { Album, Image, ImagePage } from '../types';

export function AlbumsPage() {
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const load = () =>
    api<{ items: Album[] }>('/api/v1/albums?limit=100')
      .then((page) => setAlbums(page.items))
      .catch((err: unknown) => setError(messageOf(err)));
  useEffect(() => void load(), []);
  const create = useAction(async () => {
    const album = await api<Album>('/api/v1/albums', { method: 'POST', json: { name } });
    setName('');
    navigate(`/app/albums/${encodeURIComponent(album.id)}`);
  });

  return (
    <div class="page">
      <h1 tabIndex={-1}>Albums</h1>
      <form
        class="card inline"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <label for="album-name">New album</label>
        <input id="album-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={create.busy}>
          Create album
        </button>
        {create.error && (
          <p class="error-text" role="alert">
            {create.error}
          </p>
        )}
      </form>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {albums?.length === 0 && <p class="empty">No albums yet. Make one above, then add images from the gallery (select them, then “Add to album”).</p>}
      <ul class="grid" aria-label="Albums">
        {albums?.map((album) => (
          <li key={album.id} class="tile">
            <Link href={`/app/albums/${encodeURIComponent(album.id)}`} class="tile-link">
              {album.cover ? <Picture image={album.cover} variant="small" alt="" cover /> : <span class="picture cover" />}
              <span class="tile-caption">
                <span class="tile-name">{album.name}</span>
                <span class="tile-meta muted">
                  {album.image_count} image{album.image_count === 1 ? '' : 's'}
                </span>
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function AlbumPage({ id }: { id: string }) {
  const [album, setAlbum] = useState<Album | null>(null);
  const [images, setImages] = useState<Image[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [shareUrl, setShareUrl] = useState<string | null>(null);
  const [viewing, setViewing] = useState<number | null>(null);
  const deleteDialog = useRef<HTMLDialogElement>(null);
  const base = `/api/v1/albums/${encodeURIComponent(id)}`;

  const load = async () => {
    try {
      const [got, page] = await Promise.all([api<Album>(base), api<ImagePage>(`${base}/images?limit=100`)]);
      setAlbum(got);
      setName(got.name);
      setImages(page.items);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => void load(), [id]);

  const rename = useAction(async () => {
    setAlbum(await api<Album>(base, { method: 'PATCH', json: { name } }));
  });
  const share = useAction(async () => {
    setShareUrl((await api<{ url: string }>(`${base}/share`, { method: 'POST', json: { expires_in: 7 * 86_400 } })).url);
  });
  const removeImage = async (image: Image) => {
    try {
      await api(`${base}/images/${encodeURIComponent(image.id)}`, { method: 'DELETE' });
      setImages((old) => old.filter((i) => i.id !== image.id));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (!album) {
    return <div class="page">{error ? <p class="error-text" role="alert">{error}</p> : <p class="muted">Loading…</p>}</div>;
  }
  return (
    <div class="page">
      <p class="crumbs">
        <Link href="/app/albums">← Albums</Link>
      </p>
      <h1 tabIndex={-1}>{album.name}</h1>
      <div class="card">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void rename.run();
          }}
        >
          <label for="album-rename">Name</label>
          <input id="album-rename" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" disabled={rename.busy}>
            Rename
          </button>
        </form>
        {rename.error && <p class="error-text" role="alert">{rename.error}</p>}
        <div class="inline share-link">
          <button type="button" onClick={() => void share.run()} disabled={share.busy}>
            Create share link
          </button>
          <button type="button" class="danger" onClick={() => deleteDialog.current?.showModal()}>
            Delete album…
          </button>
        </div>
        {share.error && <p class="error-text" role="alert">{share.error}</p>}
        {shareUrl && (
          <div class="share-link">
            <label for="album-share">Anyone with this link sees the album for 7 days</label>
            <div class="inline">
              <input id="album-share" readOnly value={shareUrl} />
              <CopyButton text={shareUrl} label="Copy" what="the album's share link" />
            </div>
          </div>
        )}
      </div>
      {error && <p class="error-text" role="alert">{error}</p>}
      {images.length === 0 && <p class="empty">This album is empty. Add images from the gallery: select them, then “Add to album”.</p>}
      <ul class="grid" aria-label="Images in the album">
        {images.map((image, index) => (
          <li key={image.id} class="tile">
            <button type="button" class="tile-view" aria-label={`View ${imageName(image)}`} onClick={() => setViewing(index)}>
              <Picture image={image} variant="small" alt="" cover />
            </button>
            <span class="tile-caption">
              <span class="tile-name">{imageName(image)}</span>
              <button type="button" class="small" onClick={() => void removeImage(image)}>
                Remove from album
              </button>
            </span>
          </li>
        ))}
      </ul>
      {viewing !== null && <Lightbox images={images} index={viewing} onMove={setViewing} onClose={() => setViewing(null)} />}
      <ConfirmDialog
        dialog={deleteDialog}
        id="delete-album"
        title="Delete this album?"
        confirmLabel="Delete album"
        busyLabel="Deleting…"
        action={() => api(base, { method: 'DELETE' })}
        onDone={() => navigate('/app/albums')}
      >
        The album goes; its images stay in your library.
      </ConfirmDialog>
    </div>
  );
}
