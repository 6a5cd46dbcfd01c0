// Users, for admins: add one, send an invite link, change a role, disable or enable, reset a password, delete.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyButton } from '../components/copy';
import { useAction } from '../components/use-action';
import { formatDate } from '../format';
import type { User } from '../types';

function AddUser({ onAdded }: { onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const { busy, error, run } = useAction(async () => {
    await api('/api/v1/users', { method: 'POST', json: { username: username.trim(), email: email.trim(), password, role } });
    setUsername('');
    setEmail('');
    setPassword('');
    onAdded();
  });
  return (
    <form
      class="card form"
      aria-labelledby="add-user-title"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h2 id="add-user-title">Add a user</h2>
      <label for="new-username">Username</label>
      <input id="new-username" autoComplete="off" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      <label for="new-email">Email</label>
      <input id="new-email" type="email" autoComplete="off" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <label for="new-user-password">Password</label>
      <input id="new-user-password" type="password" autoComplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      <label for="new-role">Role</label>
      <select id="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value as 'user' | 'admin')}>
        <option value="user">user</option>
        <option value="admin">admin</option>
      </select>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <button class="primary" type="submit" disabled={busy}>
        {busy ? 'Adding…' : 'Add user'}
      </button>
    </form>
  );
}

function InviteLink() {
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const [days, setDays] = useState(7);
  const [invite, setInvite] = useState<{ url: string; expires_at: string } | null>(null);
  const { busy, error, run } = useAction(async () => {
    setInvite(await api<{ url: string; expires_at: string }>('/api/v1/invites', { method: 'POST', json: { role, expires_in: days * 86_400 } }));
  });
  return (
    <section class="card form" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <p class="muted">A link that lets one person create their own account, once, before it expires.</p>
      <div class="inline wrap">
        <label for="invite-role">Role</label>
        <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value as 'user' | 'admin')}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
        <label for="invite-days">Valid for</label>
        <select id="invite-days" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          <option value={1}>1 day</option>
          <option value={7}>7 days</option>
          <option value={30}>30 days</option>
        </select>
      </div>
      <button type="button" disabled={busy} onClick={() => void run()}>
        {busy ? 'Making…' : 'Make an invite link'}
      </button>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      {invite && (
        <div class="created-key" role="status">
          <label for="invite-url">Invite link (valid until {formatDate(invite.expires_at)})</label>
          <div class="inline">
            <input id="invite-url" readOnly value={invite.url} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton label="Copy" text={invite.url} what="the invite link" />
          </div>
        </div>
      )}
    </section>
  );
}

function UserCard({ user, self, onChanged }: { user: User; self: boolean; onChanged: () => void }) {
  const remove = useRef<HTMLDialogElement>(null);
  const [password, setPassword] = useState('');
  const [resetting, setResetting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const change = async (body: { role?: string; disabled?: boolean }) => {
    setError(null);
    try {
      await api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', json: body });
      onChanged();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const reset = useAction(async () => {
    await api(`/api/v1/users/${encodeURIComponent(user.id)}/password`, { method: 'POST', json: { password } });
    setPassword('');
    setResetting(false);
    setNotice(`Password of ${user.username} reset; their sessions have ended.`);
  });
  return (
    <li class="card user" data-username={user.username}>
      <div class="user-head">
        <strong>{user.username}</strong>
        {user.role === 'admin' && <span class="badge">admin</span>}
        {user.disabled && <span class="badge warn">disabled</span>}
        {self && <span class="badge">you</span>}
        <div class="muted small">
          {user.email} · since {formatDate(user.created_at)}
        </div>
      </div>
      <div class="inline wrap">
        <label class="visually-hidden" for={`role-${user.id}`}>
          Role of {user.username}
        </label>
        <select id={`role-${user.id}`} value={user.role} onChange={(e) => void change({ role: e.currentTarget.value })}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
        {!self && (
          <button type="button" class="small" onClick={() => void change({ disabled: !user.disabled })}>
            {user.disabled ? 'Enable' : 'Disable'}
          </button>
        )}
        <button type="button" class="small" aria-expanded={resetting} onClick={() => setResetting(!resetting)}>
          Reset password
        </button>
        {!self && (
          <button type="button" class="small danger" onClick={() => remove.current?.showModal()}>
            Delete
          </button>
        )}
      </div>
      {resetting && (
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            void reset.run();
          }}
        >
          <label for={`reset-${user.id}`}>New password for {user.username}</label>
          <div class="inline">
            <input id={`reset-${user.id}`} type="password" autoComplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            <button type="submit" disabled={reset.busy}>
              {reset.busy ? 'Setting…' : 'Set password'}
            </button>
          </div>
        </form>
      )}
      {(error ?? reset.error) && (
        <p class="error-text" role="alert">
          {error ?? reset.error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ConfirmDialog
        dialog={remove}
        id={`delete-${user.id}`}
        title={`Delete ${user.username}?`}
        confirmLabel="Delete user"
        busyLabel="Deleting…"
        action={() => api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: 'DELETE' }).then(() => undefined)}
        onDone={onChanged}
      >
        Their API keys and sessions end. Their images stay, without an owner; admins still see them.
      </ConfirmDialog>
    </li>
  );
}

export function UsersPage({ selfId }: { selfId: string | null }) {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      setUsers((await api<{ items: User[] }>('/api/v1/users')).items);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  useEffect(() => void load(), []);
  return (
    <div class="page">
      <h1 tabIndex={-1}>Users</h1>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <div class="two-columns">
        <AddUser onAdded={() => void load()} />
        <InviteLink />
      </div>
      <section aria-labelledby="user-list-title">
        <h2 id="user-list-title">Everyone</h2>
        {users === null ? (
          <p class="muted">Loading…</p>
        ) : users.length === 0 ? (
          <p class="muted">No users yet.</p>
        ) : (
          <ul class="user-list">
            {users.map((u) => (
              <UserCard key={u.id} user={u} self={u.id === selfId} onChanged={() => void load()} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
