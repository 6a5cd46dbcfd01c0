// Signing in (password, or a token: the admin token or an API key) and creating an account where the server allows it.
import { useState } from 'preact/hooks';
import { api, serverSettings } from '../api';
import { NewAccountFields, useNewAccount } from '../components/new-account';
import { useAction } from '../components/use-action';
import { Link, navigate } from '../router';
import { signIn, signInWithToken } from '../session';

const afterSignIn = (next: string | null) => navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/app/upload', { replace: true });

function useSubmit(action: () => Promise<void>) {
  const { busy, error, run } = useAction(action);
  const submit = (event: Event) => {
    event.preventDefault();
    void run();
  };
  return { busy, error, submit };
}

function ErrorText({ id, error }: { id: string; error: string | null }) {
  return (
    <p id={id} class="error-text" role="alert" hidden={error === null}>
      {error}
    </p>
  );
}

export function SignInPage({ next, notice }: { next: string | null; notice?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const login = useSubmit(async () => {
    await signIn(username.trim(), password);
    afterSignIn(next);
  });
  const withToken = useSubmit(async () => {
    await signInWithToken(token.trim());
    afterSignIn(next);
  });
  const registration = serverSettings().registration;

  return (
    <div class="auth">
      <h1 tabIndex={-1}>Sign in to imgd</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form class="card form" onSubmit={login.submit} aria-describedby="signin-error">
        <label for="username">Username</label>
        <input id="username" name="username" autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorText id="signin-error" error={login.error} />
        <button class="primary" type="submit" disabled={login.busy}>
          {login.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>

      <details class="card token-signin">
        <summary>Use a token instead</summary>
        <form class="form" onSubmit={withToken.submit} aria-describedby="token-help token-error">
          <p id="token-help" class="muted">
            The admin token (printed by <code>imgd</code> on its first start, in <code>data/auth_token</code>) or one of your API keys.
          </p>
          <label for="token">Token</label>
          <input id="token" name="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          <ErrorText id="token-error" error={withToken.error} />
          <button type="submit" disabled={withToken.busy}>
            {withToken.busy ? 'Checking…' : 'Use token'}
          </button>
        </form>
      </details>

      <p class="muted">
        {registration === 'closed' ? (
          'Accounts on this server are made by an admin.'
        ) : (
          <>
            {registration === 'invite' ? 'Have an invite? ' : 'No account yet? '}
            <Link href="/app/register">Create an account</Link>
          </>
        )}
      </p>
    </div>
  );
}

export function RegisterPage({ invite: invited }: { invite: string | null }) {
  const settings = serverSettings();
  const [account, change] = useNewAccount();
  const { username, email, password } = account;
  const [invite, setInvite] = useState(invited ?? '');
  const register = useSubmit(async () => {
    await api('/api/v1/auth/register', {
      method: 'POST',
      token: null,
      json: { username: username.trim(), email: email.trim(), password, ...(invite.trim() !== '' && { invite: invite.trim() }) },
    });
    await signIn(username.trim(), password);
    afterSignIn('/app/upload');
  });

  return (
    <div class="auth">
      <h1 tabIndex={-1}>Create an account</h1>
      {invited && (
        <p class="notice" role="status">
          You have been invited: choose a username and password.
        </p>
      )}
      {settings.registration === 'closed' && !invited && (
        <p class="notice">This server says registration is closed; if you try anyway, it will tell you why.</p>
      )}
      <form class="card form" onSubmit={register.submit} aria-describedby="register-error">
        <NewAccountFields idPrefix="reg" account={account} onChange={change} help />
        {(settings.registration === 'invite' || invited) && (
          <>
            <label for="reg-invite">Invite</label>
            <input id="reg-invite" autoComplete="off" required value={invite} onInput={(e) => setInvite(e.currentTarget.value)} />
          </>
        )}
        <ErrorText id="register-error" error={register.error} />
        <button class="primary" type="submit" disabled={register.busy}>
          {register.busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p class="muted">
        Already have an account? <Link href="/app/signin">Sign in</Link>
      </p>
    </div>
  );
}
