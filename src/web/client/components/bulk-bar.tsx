// What can be done to the selected images of a gallery: trash, visibility, album, zip download.
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { bulk, downloadZip } from '../library';
import type { Album } from '../types';
import type { Selection } from './selection';

interface BulkBarProps {
  readonly selection: Selection;
  /** After images changed: `removed` left this list (trashed), the others may have changed. */
  readonly onChanged: (removed: readonly string[]) => void;
}

export function BulkBar({ selection, onChanged }: BulkBarProps) {
  const [albums, setAlbums] = useState<Album[]>([]);
  const [album, setAlbum] = useState('');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  useEffect(() => {
    api<{ items: Album[] }>('/api/v1/albums?limit=100')
      .then((page) => setAlbums(page.items))
      .catch(() => setAlbums([]));
  }, []);

  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    try {
      setStatus(await what());
    } catch (err) {
      setStatus(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const ids = selection.ids;
  const none = ids.length === 0;

  return (
    <div class="bulk-bar card" role="toolbar" aria-label="Selected images">
      <span class="bulk-count">{none ? 'None selected' : `${ids.length} selected`}</span>
      <button type="button" onClick={() => selection.all()}>
        Select all
      </button>
      <button type="button" onClick={() => selection.clear()} disabled={none}>
        Clear
      </button>
      <button
        type="button"
        class="danger"
        disabled={none || busy}
        onClick={() =>
          void run(async () => {
            const { done, summary } = await bulk('trash', ids);
            onChanged(done);
            return `Moved to the trash: ${summary}`;
          })
        }
      >
        Move to trash
      </button>
      {(['public', 'private'] as const).map((visibility) => (
        <button
          key={visibility}
          type="button"
          disabled={none || busy}
          onClick={() =>
            void run(async () => {
              const { summary } = await bulk('set_visibility', ids, { visibility });
              onChanged([]);
              return `Made ${visibility}: ${summary}`;
            })
          }
        >
          Make {visibility}
        </button>
      ))}
      <span class="inline">
        <label class="visually-hidden" for="bulk-album">
          Album
        </label>
        <select id="bulk-album" value={album} onChange={(e) => setAlbum(e.currentTarget.value)}>
          <option value="">Album…</option>
          {albums.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
        <button
          type="button"
          disabled={none || busy || album === ''}
          onClick={() =>
            void run(async () => {
              const { summary } = await bulk('add_to_album', ids, { album_id: album });
              return `Added to the album: ${summary}`;
            })
          }
        >
          Add to album
        </button>
      </span>
      <button
        type="button"
        disabled={none || busy}
        onClick={() =>
          void run(async () => {
            await downloadZip(ids);
            return `Downloaded ${ids.length} image${ids.length === 1 ? '' : 's'} as a zip.`;
          })
        }
      >
        Download zip
      </button>
      <p class="bulk-status" role="status">
        {status}
      </p>
    </div>
  );
}
