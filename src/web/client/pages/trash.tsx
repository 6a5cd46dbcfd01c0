// The trash: deleted images until they are purged (TRASH_DAYS), restored or deleted for good, one by one, selected or all.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { Picture } from '../components/picture';
import { gridKeys, useSelection } from '../components/selection';
import { TileCheck } from '../components/tile-check';
import { formatDate, imageName } from '../format';
import { bulk } from '../library';
import type { TrashedImage } from '../types';

export function TrashPage({ admin }: { admin: boolean }) {
  const [items, setItems] = useState<TrashedImage[] | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const emptyDialog = useRef<HTMLDialogElement>(null);
  const purgeDialog = useRef<HTMLDialogElement>(null);
  const order = useMemo(() => (items ?? []).map((i) => i.id), [items]);
  const selection = useSelection(order);

  const load = () =>
    api<{ items: TrashedImage[] }>('/api/v1/trash?limit=100')
      .then((page) => setItems(page.items))
      .catch((err: unknown) => setStatus(messageOf(err)));
  useEffect(() => void load(), []);

  const act = async (action: 'restore' | 'purge', ids: readonly string[]) => {
    setBusy(true);
    try {
      const { done, summary } = await bulk(action, ids);
      setItems((old) => (old ?? []).filter((i) => !done.includes(i.id)));
      setStatus(`${action === 'restore' ? 'Restored' : 'Deleted for good'}: ${summary}`);
    } catch (err) {
      setStatus(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const none = selection.size === 0;

  return (
    <div class="page">
      <h1 tabIndex={-1}>Trash</h1>
      <p class="help">
        Deleted images wait here{admin ? ' (everyone’s, for an admin)' : ''}, served nowhere, until the day shown; then they go for good. Restore brings an image back at
        the same URL.
      </p>
      <div class="bulk-bar card" role="toolbar" aria-label="Trash">
        <span class="bulk-count">{none ? 'None selected' : `${selection.size} selected`}</span>
        <button type="button" onClick={() => selection.all()} disabled={!items?.length}>
          Select all
        </button>
        <button type="button" class="primary" disabled={none || busy} onClick={() => void act('restore', selection.ids)}>
          Restore
        </button>
        <button type="button" class="danger" disabled={none || busy} onClick={() => purgeDialog.current?.showModal()}>
          Delete for good…
        </button>
        <button type="button" class="danger" disabled={!items?.length || busy} onClick={() => emptyDialog.current?.showModal()}>
          Empty trash…
        </button>
        <p class="bulk-status" role="status">
          {status}
        </p>
      </div>
      {items?.length === 0 && <p class="empty">The trash is empty.</p>}
      <ul class="grid" aria-label="Images in the trash" onKeyDown={gridKeys(selection)}>
        {items?.map((image, index) => (
          <li key={image.id} class={`tile${selection.has(image.id) ? ' selected' : ''}`} data-id={image.id} data-index={index}>
            <TileCheck selection={selection} index={index} id={image.id} name={imageName(image)} />
            <Picture image={image} variant="small" alt="" cover />
            <span class="tile-caption">
              <span class="tile-name">{imageName(image)}</span>
              <span class="tile-meta muted">Goes {formatDate(image.purge_at)}</span>
              <button type="button" class="small" data-nav="restore" aria-label={`Restore ${imageName(image)}`} disabled={busy} onClick={() => void act('restore', [image.id])}>
                Restore
              </button>
            </span>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        dialog={purgeDialog}
        id="purge-selected"
        title={`Delete ${selection.size} image${selection.size === 1 ? '' : 's'} for good?`}
        confirmLabel="Delete for good"
        busyLabel="Deleting…"
        action={() => act('purge', selection.ids)}
        onDone={() => undefined}
      >
        They cannot be restored afterwards.
      </ConfirmDialog>
      <ConfirmDialog
        dialog={emptyDialog}
        id="empty-trash"
        title="Empty the trash?"
        confirmLabel="Empty trash"
        busyLabel="Emptying…"
        action={async () => {
          const { purged } = await api<{ purged: number }>('/api/v1/trash/empty', { method: 'POST', json: {} });
          setStatus(`Deleted ${purged} image${purged === 1 ? '' : 's'} for good.`);
          await load();
        }}
        onDone={() => undefined}
      >
        Everything in it is deleted for good and cannot be restored.
      </ConfirmDialog>
    </div>
  );
}
