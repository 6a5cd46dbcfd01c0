// The effective configuration, for admins: every setting, its value (secrets masked) and where it came from.
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import type { SettingItem } from '../types';

const SOURCES: Record<SettingItem['source'], string> = { env: 'environment', file: 'config file', default: 'default' };

function shown(item: SettingItem): string {
  if (item.value === null) return item.note ?? 'unset';
  if (Array.isArray(item.value)) return item.value.join(', ');
  return String(item.value);
}

export function SettingsPage() {
  const [items, setItems] = useState<SettingItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [onlySet, setOnlySet] = useState(false);
  useEffect(() => {
    api<{ items: SettingItem[] }>('/api/v1/admin/settings').then(
      (answer) => setItems(answer.items),
      (err: unknown) => setError(messageOf(err)),
    );
  }, []);
  const visible = items?.filter((i) => !onlySet || i.source !== 'default');
  return (
    <div class="page">
      <h1 tabIndex={-1}>Settings</h1>
      <p class="muted">
        What this server runs with. Settings come from the environment, or the JSON file named by <code>CONFIG_FILE</code>; change them there and restart.
        Secrets are never shown.
      </p>
      <label class="checkbox">
        <input type="checkbox" checked={onlySet} onChange={(e) => setOnlySet(e.currentTarget.checked)} /> Only settings that are set
      </label>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {visible === undefined ? (
        !error && <p class="muted">Loading…</p>
      ) : (
        <dl class="settings-list">
          {visible.map((item) => (
            <div key={item.name} class="setting" data-source={item.source}>
              <dt>
                <code>{item.name}</code>
              </dt>
              <dd>
                <span class={item.value === null ? 'muted' : 'value'}>{shown(item)}</span>
                <span class={`source source-${item.source}`}>
                  {SOURCES[item.source]}
                  {item.from && item.from !== item.name && <> ({item.from})</>}
                </span>
              </dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}
