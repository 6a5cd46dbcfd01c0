// One-click screenshot-tool setup for an API key whose secret the page holds (just created): ShareX and Flameshot files.
import { useState } from 'preact/hooks';
import { api, ApiError, messageOf, problemOf } from '../api';
import type { ApiKey } from '../types';
import { ToolButtons } from './tool-buttons';

/** Fetches a file the server makes for a key (the key itself is the credential) and hands it to the browser to save. */
async function download(path: string, key: string, fallbackName: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${key}` }, credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (!res.ok) throw await problemOf(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ToolDownloads({ apiKey }: { apiKey: ApiKey & { key: string } }) {
  const [error, setError] = useState<string | null>(null);
  const canUpload = apiKey.scopes.includes('upload');
  const run = (path: string, name: string) => () => {
    setError(null);
    download(path, apiKey.key, name).catch((err: unknown) => setError(messageOf(err)));
  };
  if (!canUpload) return <p class="muted small">Give a key the upload scope to use it with ShareX or Flameshot.</p>;
  return (
    <div class="tool-downloads">
      <p class="muted small">Set up a screenshot tool with this key:</p>
      <ToolButtons
        sharex={{ label: 'ShareX (.sxcu)', onClick: run('/api/v1/integrations/sharex', 'imgd.sxcu') }}
        flameshot={{ label: 'Flameshot script', onClick: run('/api/v1/integrations/flameshot', 'imgd-flameshot.sh') }}
        error={error}
      />
    </div>
  );
}

/** Makes an upload-only key named for the tool and downloads its configuration at once. */
export async function keyForTool(tool: 'ShareX' | 'Flameshot'): Promise<void> {
  const key = await api<ApiKey & { key: string }>('/api/v1/api-keys', { method: 'POST', json: { name: tool, scopes: ['upload'] } });
  if (tool === 'ShareX') await download('/api/v1/integrations/sharex', key.key, 'imgd.sxcu');
  else await download('/api/v1/integrations/flameshot', key.key, 'imgd-flameshot.sh');
}
