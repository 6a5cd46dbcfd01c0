// A browser as the API sees it: a cookie jar signed in through POST /api/v1/auth/session, sending the CSRF header.
import assert from 'node:assert/strict';
import type { TestApp } from './app.js';

export interface CookieBrowser {
  readonly cookies: Map<string, string>;
  readonly csrf: string;
  /** Headers of a request from this browser: its cookies, and the CSRF header unless `csrf: false`. */
  headers(options?: { csrf?: boolean | string; extra?: Record<string, string> }): Record<string, string>;
  fetch(path: string, init?: RequestInit & { csrf?: boolean | string }): Promise<Response>;
}

export function cookiesOf(res: Response): Map<string, { value: string; attributes: string[] }> {
  const out = new Map<string, { value: string; attributes: string[] }>();
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const at = pair!.indexOf('=');
    out.set(pair!.slice(0, at), { value: pair!.slice(at + 1), attributes });
  }
  return out;
}

export function signInRequest(t: TestApp, username: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.url}/api/v1/auth/session`, {
    method: 'POST',
    body: JSON.stringify({ username, password }),
    headers: { 'content-type': 'application/json', 'user-agent': 'test-browser/1.0', ...headers },
  });
}

export async function signInBrowser(t: TestApp, username: string, password: string): Promise<CookieBrowser> {
  const res = await signInRequest(t, username, password);
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { csrf_token: string };
  const cookies = new Map([...cookiesOf(res)].map(([name, c]) => [name, c.value]));
  assert.equal(cookies.get('imgd_csrf'), body.csrf_token);
  const headers = (options: { csrf?: boolean | string; extra?: Record<string, string> } = {}): Record<string, string> => {
    const csrf = options.csrf ?? true;
    return {
      cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      ...(csrf === true ? { 'x-csrf-token': body.csrf_token } : typeof csrf === 'string' ? { 'x-csrf-token': csrf } : {}),
      ...options.extra,
    };
  };
  return {
    cookies,
    csrf: body.csrf_token,
    headers,
    fetch: (path, init = {}) => {
      const { csrf, headers: extra, ...rest } = init;
      return fetch(`${t.url}${path}`, { ...rest, headers: headers({ csrf, extra: extra as Record<string, string> | undefined }) });
    },
  };
}
