// Who is signed in: the credential (kept in sessionStorage, so it ends with the tab) and its /auth/me answer.
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

function store(token: string | null): void {
  setCredential(token);
  try {
    if (token === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage can be off (private modes); the credential then lives in memory until the page closes.
  }
}

export const getSession = (): Session => current;

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

/** Checks a credential with /auth/me and keeps it when the server accepts it. */
export async function signInWithToken(token: string): Promise<Me> {
  const me = await api<Me>('/api/v1/auth/me', { token });
  if (me.credential === 'upload_token') throw new Error('An upload token can only upload; sign in with a password, an API key or the admin token.');
  store(token);
  set({ state: 'signed-in', me });
  return me;
}

export async function signIn(username: string, password: string): Promise<Me> {
  const answer = await api<{ access_token: string }>('/api/v1/auth/token', { method: 'POST', form: { username, password }, token: null });
  return signInWithToken(answer.access_token);
}

export function signOut(notice?: string): void {
  store(null);
  set({ state: 'signed-out', ...(notice !== undefined && { notice }) });
}

/** On start: resume the tab's session if its credential still works. */
export async function restoreSession(): Promise<void> {
  onUnauthorized(() => signOut('Your session has ended; please sign in again.'));
  let saved: string | null = null;
  try {
    saved = sessionStorage.getItem(STORAGE_KEY);
  } catch {
    saved = null;
  }
  if (!saved) {
    set({ state: 'signed-out' });
    return;
  }
  try {
    await signInWithToken(saved);
  } catch {
    signOut();
  }
}
