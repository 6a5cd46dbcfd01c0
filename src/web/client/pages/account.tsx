// Your account: change your password, see the browsers signed in as you, end one or all of them.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { useAction } from '../components/use-action';
import { formatDate } from '../format';
import { Link, navigate } from '../router';
import { signOutEverywhere } from '../session';
import type { BrowserSession, Me } from '../types';

/** "Firefox on Linux" from a user agent, or the raw string when it says nothing familiar. */
function describeAgent(agent: string | null): string {
  if (!agent) return 'Unknown browser';
  const browser = /Edg\//.test(agent) ? 'Edge' : /Firefox\//.test(agent) ? 'Firefox' : /Chrom(e|ium)\//.test(agent) ? 'Chrome' : /Safari\//.test(agent) ? 'Safari' : null;
  const os = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS' : /Windows/.test(agent) ? 'Windows' : /Mac OS X/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : null;
  return browser ? `${browser}${os ? ` on ${os}` : ''}` : agent.slice(0, 60);
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction(async () => {
    await api('/api/v1/auth/password', { method: 'POST', json: { current_password: current, new_password: next } });
    setCurrent('');
    setNext('');
    setDone(true);
  });
  return (
    <form
      class="card form"
      aria-labelledby="password-title"
      onSubmit={(e) => {
        e.preventDefault();
        setDone(false);
        void run();
      }}
    >
      <h2 id="password-title">Change password</h2>
      <label for="current-password">Current password</label>
      <input id="current-password" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      <label for="new-password">New password</label>
      <input id="new-password" type="password" autoComplete="new-password" required minLength={8} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      <p class="help">At least 8 characters. Your other browsers are signed out; this one stays signed in.</p>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p class="notice" role="status">
          Password changed.
        </p>
      )}
      <button class="primary" type="submit" disabled={busy}>
        {busy ? 'Changing…' : 'Change password'}
      </button>
    </form>
  );
}

function Sessions() {
  const [sessions, setSessions] = useState<BrowserSession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const everywhere = useRef<HTMLDialogElement>(null);
  const load = async () => {
    try {
      setSessions((await api<{ items: BrowserSession[] }>('/api/v1/auth/sessions')).items);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => void load(), []);
  const end = async (id: string) => {
    setError(null);
    try {
      await api(`/api/v1/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you are signed in</h2>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {sessions === null ? (
        <p class="muted">Loading…</p>
      ) : (
        <ul class="session-list">
          {sessions.map((s) => (
            <li key={s.id} class="session" data-current={s.current ? 'true' : undefined}>
              <div>
                <strong>{describeAgent(s.user_agent)}</strong>
                {s.current && <span class="badge">this browser</span>}
                <div class="muted small">
                  {s.ip ?? 'unknown address'} · signed in {formatDate(s.created_at)} · last used {formatDate(s.last_seen_at)}
                </div>
              </div>
              {!s.current && (
                <button type="button" class="small" onClick={() => void end(s.id)} aria-label={`Sign out ${describeAgent(s.user_agent)}, signed in ${formatDate(s.created_at)}`}>
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="danger" onClick={() => everywhere.current?.showModal()}>
        Sign out everywhere
      </button>
      <ConfirmDialog
        dialog={everywhere}
        id="signout-everywhere"
        title="Sign out everywhere?"
        confirmLabel="Sign out everywhere"
        busyLabel="Signing out…"
        action={signOutEverywhere}
        onDone={() => navigate('/app/signin')}
      >
        Every browser signed in as you, this one included, is signed out. Your API keys keep working.
      </ConfirmDialog>
    </section>
  );
}

export function AccountPage({ me }: { me: Me }) {
  const passwordSession = me.credential === 'session';
  return (
    <div class="page">
      <h1 tabIndex={-1}>Your account</h1>
      <p class="muted">
        Signed in as <strong>{me.username}</strong>
        {me.email && <> ({me.email})</>}. Your API keys and screenshot-tool setup are on the <Link href="/app/keys">API keys</Link> page.
      </p>
      {passwordSession ? (
        <>
          <PasswordForm />
          <Sessions />
        </>
      ) : (
        <p class="notice">Signed in with an API key: sign in with your username and password to change your password or see your sessions.</p>
      )}
    </div>
  );
}
