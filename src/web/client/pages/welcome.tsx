// The admin's first run: signed in with the admin token, create your own admin account and sign in with it, in one step.
import { api } from '../api';
import { NewAccountFields, useNewAccount } from '../components/new-account';
import { useAction } from '../components/use-action';
import { navigate } from '../router';
import { signIn } from '../session';

export function WelcomePage() {
  const [account, change] = useNewAccount();
  const { username, email, password } = account;
  const { busy, error, run } = useAction(async () => {
    await api('/api/v1/users', { method: 'POST', json: { username: username.trim(), email: email.trim(), password, role: 'admin' } });
    await signIn(username.trim(), password);
    navigate('/app/keys');
  });
  return (
    <div class="auth">
      <h1 tabIndex={-1}>Create your account</h1>
      <p>
        You are signed in with the admin token, which is meant for setting up. Make your own admin account: you will be signed in with it, in
        every tab, and can create API keys and invite others.
      </p>
      <form
        class="card form"
        aria-describedby="welcome-error"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <NewAccountFields idPrefix="welcome" account={account} onChange={change} />
        <p id="welcome-error" class="error-text" role="alert" hidden={error === null}>
          {error}
        </p>
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create my admin account'}
        </button>
      </form>
    </div>
  );
}
