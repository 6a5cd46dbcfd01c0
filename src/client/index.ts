// imgd/client: a typed client of imgd's JSON API (openapi-fetch over the types generated from /openapi.json).
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './openapi.js';

export type { components, operations, paths } from './openapi.js';
export type Image = components['schemas']['Image'];
export type Problem = components['schemas']['Problem'];
export type ErrorCode = Problem['code'];
export type ImgdClient = Client<paths>;

export interface ImgdClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** An admin token, API key, JWT or upload token, sent as `Authorization: Bearer`. */
  readonly token?: string;
}

/** A client of the imgd at `baseUrl` (its PUBLIC_URL, without /api/v1). */
export function createImgdClient(baseUrl: string, options: ImgdClientOptions = {}): ImgdClient {
  const { token, ...rest } = options;
  const client = createClient<paths>({ ...rest, baseUrl: baseUrl.replace(/\/+$/, '') });
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}

type FormValue = string | Blob | readonly Blob[] | undefined;

/**
 * The bodySerializer of POST /api/v1/images: openapi-fetch sends JSON unless told otherwise. Each Blob of `file` is one
 * part (a File keeps its name).
 */
export function multipart(body: Readonly<Record<string, FormValue>>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) form.append(name, item as string | Blob);
  }
  return form;
}
