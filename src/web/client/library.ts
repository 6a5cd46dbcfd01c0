// The library's calls: bulk operations with their per-image results, and downloads saved as files.
import { api, ApiError, authHeader, problemOf } from './api';
import type { BulkAction, BulkResult, Image } from './types';

export interface BulkOptions {
  visibility?: 'public' | 'private';
  album_id?: string;
}

/** Runs one action over the ids; answers a sentence for the status line, naming how many failed and why. */
export async function bulk(action: BulkAction, ids: readonly string[], options: BulkOptions = {}): Promise<{ done: string[]; summary: string }> {
  const { results } = await api<{ results: BulkResult[] }>('/api/v1/images/bulk', { method: 'POST', json: { action, ids, ...options } });
  const done = results.filter((r) => r.ok).map((r) => r.id);
  const failed = results.filter((r) => !r.ok);
  const summary = `${done.length} of ${results.length} done.${failed.length ? ` ${failed.length} failed: ${failed[0]!.detail ?? failed[0]!.code}` : ''}`;
  return { done, summary };
}

/** Saves a response body as a file with the name the server gave (Content-Disposition), or the fallback. */
async function save(res: Response, fallback: string): Promise<void> {
  if (!res.ok) throw await problemOf(res);
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1] ?? /filename="([^"]+)"/.exec(disposition)?.[1];
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name ? decodeURIComponent(name) : fallback;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function fetched(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, headers: { ...authHeader(), ...(init.headers as Record<string, string>) } });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
}

export async function downloadOriginal(image: Image): Promise<void> {
  await save(await fetched(`/api/v1/images/${encodeURIComponent(image.id)}/download`, {}), image.filename);
}

export async function downloadZip(ids: readonly string[]): Promise<void> {
  const res = await fetched('/api/v1/images/download', { method: 'POST', body: JSON.stringify({ ids }), headers: { 'content-type': 'application/json' } });
  await save(res, 'images.zip');
}
