// API keys: create one with chosen scopes (its secret is shown once), see them with prefix and last use, revoke.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyButton } from '../components/copy';
import { Hidden, Table } from '../components/table';
import { formatDate } from '../format';
import { keyForTool, ToolDownloads } from '../components/tool-config';
import { ToolButtons } from '../components/tool-buttons';
import { useAction } from '../components/use-action';
import type { ApiKey, Scope } from '../types';

const SCOPE_HELP: Record<Scope, string> = {
  read: 'list and see images',
  upload: 'upload and change images',
  delete: 'delete images',
  admin: 'everything an admin may do',
};

export function KeysPage({ admin }: { admin: boolean }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);
  const load = async () => {
    try {
      setKeys((await api<{ items: ApiKey[] }>('/api/v1/api-keys')).items);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => void load(), []);

  return (
    <div class="page">
      <h1 tabIndex={-1}>API keys</h1>
      <p class="muted">
        A key lets a script or another service act for you: send it as <code>Authorization: Bearer imgd_k_…</code>.
      </p>
      <CreateKey
        admin={admin}
        onCreated={(key) => {
          setCreated(key);
          void load();
        }}
      />
      {created && (
        <div class="card created-key" role="status">
          <h2>Key “{created.name}” created</h2>
          <p>
            <strong>Copy it now:</strong> it is shown only this once.
          </p>
          <div class="inline">
            <label class="visually-hidden" for="new-key">
              New API key
            </label>
            <input id="new-key" readOnly value={created.key} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton label="Copy" text={created.key} what="the new API key" />
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
          <ToolDownloads apiKey={created} />
        </div>
      )}
      <ToolSetup onCreated={() => void load()} />
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="keys-title">
        <h2 id="keys-title">Your keys</h2>
        {keys === null ? (
          <p class="muted">Loading…</p>
        ) : keys.length === 0 ? (
          <p class="muted">No keys yet.</p>
        ) : (
          <Table class="keys" columns={['Name', 'Key', 'Scopes', 'Created', 'Last used', <Hidden key="actions">Actions</Hidden>]}>
            {keys.map((k) => (
              <KeyRow key={k.id} apiKey={k} onRevoked={() => void load()} />
            ))}
          </Table>
        )}
      </section>
    </div>
  );
}

/** ShareX or Flameshot in one click: a new upload-only key, and its configuration file downloaded. */
function ToolSetup({ onCreated }: { onCreated: () => void }) {
  const sharex = useAction(() => keyForTool('ShareX').then(onCreated));
  const flameshot = useAction(() => keyForTool('Flameshot').then(onCreated));
  const error = sharex.error ?? flameshot.error;
  return (
    <section class="card" aria-labelledby="tools-title">
      <h2 id="tools-title">Screenshot tools</h2>
      <p class="muted">Each button makes a new upload-only key and downloads a configuration that uses it.</p>
      <ToolButtons
        sharex={{ label: 'Set up ShareX', busy: sharex.busy, onClick: () => void sharex.run() }}
        flameshot={{ label: 'Set up Flameshot', busy: flameshot.busy, onClick: () => void flameshot.run() }}
        error={error}
      />
    </section>
  );
}

function CreateKey({ admin, onCreated }: { admin: boolean; onCreated: (key: ApiKey & { key: string }) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read', 'upload']);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const offered: Scope[] = admin ? ['read', 'upload', 'delete', 'admin'] : ['read', 'upload', 'delete'];
  const toggle = (scope: Scope, on: boolean) => setScopes((s) => (on ? [...s.filter((x) => x !== scope), scope] : s.filter((x) => x !== scope)));
  const submit = async (event: Event) => {
    event.preventDefault();
    if (scopes.length === 0) {
      setError('Choose at least one scope.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const key = await api<ApiKey & { key: string }>('/api/v1/api-keys', { method: 'POST', json: { name: name.trim(), scopes } });
      setName('');
      onCreated(key);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={(e) => void submit(e)} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <label for="key-name">Name</label>
      <input id="key-name" required maxLength={100} placeholder="ci, backup script…" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <fieldset>
        <legend>Scopes</legend>
        {offered.map((scope) => (
          <label key={scope} class="checkbox">
            <input type="checkbox" name="scope" value={scope} checked={scopes.includes(scope)} onChange={(e) => toggle(scope, e.currentTarget.checked)} />
            <strong>{scope}</strong> <span class="muted">{SCOPE_HELP[scope]}</span>
          </label>
        ))}
      </fieldset>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <button class="primary" type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
    </form>
  );
}

function KeyRow({ apiKey, onRevoked }: { apiKey: ApiKey; onRevoked: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  return (
    <tr data-key-name={apiKey.name}>
      <th scope="row">{apiKey.name}</th>
      <td data-label="Key">
        <code>{apiKey.prefix}…</code>
      </td>
      <td data-label="Scopes">{apiKey.scopes.join(', ')}</td>
      <td data-label="Created">{formatDate(apiKey.created_at)}</td>
      <td data-label="Last used">{apiKey.last_used_at ? formatDate(apiKey.last_used_at) : <span class="muted">never</span>}</td>
      <td>
        <button type="button" class="danger small" onClick={() => dialog.current?.showModal()} aria-label={`Revoke ${apiKey.name}`}>
          Revoke
        </button>
        <ConfirmDialog
          dialog={dialog}
          id={`revoke-${apiKey.id}`}
          title={`Revoke “${apiKey.name}”?`}
          confirmLabel="Revoke key"
          busyLabel="Revoking…"
          action={() => api(`/api/v1/api-keys/${encodeURIComponent(apiKey.id)}`, { method: 'DELETE' }).then(() => undefined)}
          onDone={onRevoked}
        >
          Anything using this key is refused from now on.
        </ConfirmDialog>
      </td>
    </tr>
  );
}
