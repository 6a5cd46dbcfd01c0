// Helpers for the library tests (trash, albums, bulk, viewer pages): uploads as a user, and the image object's fields they read.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { TestApp } from './app.js';
import { json } from './accounts.js';
import { waitFor } from './wait.js';

export interface LibraryImage {
  id: string;
  url: string;
  page_url: string;
  filename: string;
  sha256: string;
  bytes: number;
  status: string;
  visibility: 'public' | 'private';
  variants: Record<string, string>;
  created_at: string;
  trashed_at?: string;
  purge_at?: string;
}

/** Uploads one file (a path, or a name and bytes) with this credential; answers the image object. */
export async function uploadAs(t: TestApp, auth: Record<string, string>, file: string | [string, Uint8Array], fields: Record<string, string> = {}): Promise<LibraryImage> {
  const entry: [string, Uint8Array] = typeof file === 'string' ? [file.split('/').pop()!, await readFile(file)] : file;
  const res = await t.upload([entry], fields, auth);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as LibraryImage;
}

/** Waits until processing has finished with the image (its variants exist). */
export async function ready(t: TestApp, image: LibraryImage): Promise<void> {
  await waitFor(`image ${image.id} processed`, async () => ((await t.app.catalog.getAnyImage(image.id))?.status === 'ready' ? true : undefined));
}

/** The path and query of an absolute URL of the test server. */
export const local = (t: TestApp, absolute: string): string => {
  const u = new URL(absolute);
  return `${t.url}${u.pathname}${u.search}`;
};

export const statusOf = async (url: string, headers: Record<string, string> = {}): Promise<number> => {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
};

export async function postJson<T>(t: TestApp, path: string, body: unknown, auth: Record<string, string>, status = 200): Promise<T> {
  const res = await fetch(`${t.url}${path}`, json(body, auth));
  assert.equal(res.status, status, await res.clone().text());
  return (await res.json()) as T;
}

/** The image's row is there, in the trash or not (read straight from the catalog). */
export const rowOf = (t: TestApp, id: string) => t.app.catalog.getAnyImage(id);
