// Calls to the JSON API with the signed-in credential; errors become ApiError with the server's problem+json detail.
import type { Settings } from './types';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let credential: string | null = null;
let unauthorized: () => void = () => undefined;

export const getCredential = (): string | null => credential;
export const setCredential = (value: string | null): void => {
  credential = value;
};
/** Called when the server refuses the credential we hold (expired session, revoked key). */
export const onUnauthorized = (callback: () => void): void => {
  unauthorized = callback;
};

/** The CSRF token of the browser's session cookie (the server set it beside the HttpOnly session cookie). */
export function csrfToken(): string | null {
  const match = /(?:^|;\s*)imgd_csrf=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** A bearer credential when the tab holds one (a token sign-in), else the CSRF header that goes with the session cookie. */
export const authHeader = (token: string | null = credential): Record<string, string> => {
  if (token) return { authorization: `Bearer ${token}` };
  const csrf = csrfToken();
  return csrf ? { 'x-csrf-token': csrf } : {};
};

/** The message to show for a failed response: the problem's detail, else its title, else the status. */
export async function problemOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}.`.replace(' .', '.');
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    const body = (await res.json().catch(() => null)) as { detail?: unknown; title?: unknown; code?: unknown } | null;
    if (typeof body?.code === 'string') code = body.code;
    if (typeof body?.detail === 'string' && body.detail !== '') message = body.detail;
    else if (typeof body?.title === 'string') message = body.title;
  }
  return new ApiError(res.status, code, message);
}

export interface ApiInit extends Omit<RequestInit, 'body'> {
  json?: unknown;
  form?: Record<string, string>;
  /** Another credential than the signed-in one (signing in with a token checks it first); null: the session cookie only. */
  token?: string | null;
}

export async function api<T>(path: string, init: ApiInit = {}): Promise<T> {
  const { json, form, token, headers, ...rest } = init;
  const sent = token === undefined ? credential : token;
  const requestHeaders: Record<string, string> = { accept: 'application/json', ...authHeader(sent), ...(headers as Record<string, string>) };
  let body: string | URLSearchParams | undefined;
  if (json !== undefined) {
    body = JSON.stringify(json);
    requestHeaders['content-type'] = 'application/json';
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...rest, headers: requestHeaders, body });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (!res.ok) {
    const error = await problemOf(res);
    // The credential we hold (a token, or the session cookie) was refused: the session is over.
    if (res.status === 401 && sent === credential) unauthorized();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

let settings: Settings | undefined;
/** The server's settings from the page's <meta name="imgd-config">, with safe defaults. */
export function serverSettings(): Settings {
  if (settings) return settings;
  const defaults: Settings = { registration: 'closed', maxFileSize: 20 * 1024 * 1024, maxFiles: 20, formats: [], processing: true, shareMaxSeconds: 2_592_000 };
  const raw = document.querySelector<HTMLMetaElement>('meta[name="imgd-config"]')?.content;
  settings = raw ? { ...defaults, ...(JSON.parse(raw) as Partial<Settings>) } : defaults;
  return settings;
}

/** The path and query of an absolute URL of this server, so that a fetch with credentials stays same-origin. */
export const sameOrigin = (url: string): string => {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
};
