// Who is signed in: a session cookie shared by every tab (password sign-in), or a token kept in this tab's
// sessionStorage (the admin token or an API key), and the /auth/me answer for it.
import { useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized, setCredential } from './api';
import type { Me } from './types';

const STORAGE_KEY = 'imgd.credential';

export type Session =
  | { state: 'loading' }
  | { state: 'signed-out'; notice?: string }
  | { state: 'signed-in'; me: Me };

let current: Session = { state: 'loading' };
const listeners = new Set<() => void>();

function set(next: Session): void {
  current = next;
  for (const listener of listeners) listener();
}

/** A token sign-in lasts as long as the tab; a password sign-in lives in the cookie and needs nothing here. */
function storeToken(token: string | null): void {
  setCredential(token);
  try {
    if (token === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage can be off (private modes); the token then lives in memory until the page closes.
  }
}

export function useSession(): Session {
  const [session, setSession] = useState(current);
  useEffect(() => {
    const listener = () => setSession(current);
    listeners.add(listener);
    listener();
    return () => void listeners.delete(listener);
  }, []);
  return session;
}

export const isAdmin = (session: Session): boolean => session.state === 'signed-in' && session.me.role === 'admin';

/** Checks a token with /auth/me and keeps it for this tab when the server accepts it. */
export async function signInWithToken(token: string): Promise<Me> {
  const me = await api<Me>('/api/v1/auth/me', { token });
  if (me.credential === 'upload_token') throw new Error('An upload token can only upload; sign in with a password, an API key or the admin token.');
  storeToken(token);
  set({ state: 'signed-in', me });
  return me;
}

/** Signs in with the session cookie (shared by every tab), dropping any token this tab held. */
export async function signIn(username: string, password: string): Promise<Me> {
  await api('/api/v1/auth/session', { method: 'POST', json: { username, password }, token: null });
  storeToken(null);
  const me = await api<Me>('/api/v1/auth/me', { token: null });
  set({ state: 'signed-in', me });
  return me;
}

/** Forgets the session here; `end` also ends it on the server (this browser's cookie session). */
export function signOut(notice?: string, end = true): void {
  const hadToken = (() => {
    try {
      return sessionStorage.getItem(STORAGE_KEY) !== null;
    } catch {
      return false;
    }
  })();
  storeToken(null);
  if (end && !hadToken) void api('/api/v1/auth/session', { method: 'DELETE', token: null }).catch(() => undefined);
  set({ state: 'signed-out', ...(notice !== undefined && { notice }) });
}

/** Ends every session of the signed-in user (every browser, every session token). */
export async function signOutEverywhere(): Promise<void> {
  await api('/api/v1/auth/sessions', { method: 'DELETE' });
  signOut('You have signed out everywhere.', false);
}

/** On start: this tab's token if it still works, else the session cookie if there is a live one. */
export async function restoreSession(): Promise<void> {
  onUnauthorized(() => {
    if (current.state === 'signed-in') signOut('Your session has ended; please sign in again.', false);
  });
  let saved: string | null = null;
  try {
    saved = sessionStorage.getItem(STORAGE_KEY);
  } catch {
    saved = null;
  }
  if (saved) {
    try {
      await signInWithToken(saved);
      return;
    } catch {
      storeToken(null);
    }
  }
  try {
    const me = await api<Me>('/api/v1/auth/me', { token: null });
    set({ state: 'signed-in', me });
  } catch {
    set({ state: 'signed-out' });
  }
}
