// Account helpers for the HTTP tests: problem checks, registering, signing in, keys and HMAC tokens.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestApp } from './app.js';

export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
export const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Problem {
  status: number;
  code: string;
  detail: string;
  [extra: string]: unknown;
}

/** Checks the status, the problem+json content type and the code; returns the body. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), PROBLEM_TYPE, text);
  const body = JSON.parse(text) as Problem;
  assert.equal(body.code, code, text);
  assert.equal(body.status, status, text);
  return body;
}

export interface UserView {
  id: string;
  username: string;
  email: string;
  role: 'admin' | 'user';
  created_at: string;
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

export function registerRequest(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.url}/api/v1/auth/register`, json(body, headers));
}

/** Registers a user (the server must allow it) and answers the user object. */
export async function register(t: TestApp, username: string, password = `${username}-password-1`): Promise<UserView> {
  const res = await registerRequest(t, { username, email: `${username}@example.com`, password });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as UserView;
}

export function loginRequest(t: TestApp, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.url}/api/v1/auth/token`, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** Signs in with the OAuth2 password form and answers the access token. */
export async function login(t: TestApp, username: string, password = `${username}-password-1`): Promise<string> {
  const res = await loginRequest(t, { username, password, grant_type: 'password' });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A registered user and a session header for them. */
export async function signUp(t: TestApp, username: string): Promise<{ user: UserView; auth: { authorization: string }; token: string; password: string }> {
  const password = `${username}-password-1`;
  const user = await register(t, username, password);
  const token = await login(t, username, password);
  return { user, auth: bearer(token), token, password };
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  user_id: string;
  created_at: string;
  last_used_at: string | null;
  key?: string;
}

export async function createKey(t: TestApp, auth: Record<string, string>, scopes: string[], name = 'test key'): Promise<ApiKeyView & { key: string }> {
  const res = await fetch(`${t.url}/api/v1/api-keys`, json({ name, scopes }, auth));
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as ApiKeyView & { key: string };
}

/** A seed-003 `ts.sig` token made by Python's hmac module, as seed 003's clients make them; `offset` shifts ts. */
export function pythonHmacToken(secret: string, offsetSeconds = 0): string {
  const script =
    'import hmac,hashlib,sys,time; ' +
    'ts=str(int(time.time())+int(sys.argv[2])); ' +
    "print(ts+'.'+hmac.new(sys.argv[1].encode(), ts.encode(), hashlib.sha256).hexdigest())";
  const out = spawnSync('python3', ['-c', script, secret, String(offsetSeconds)], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim();
}
