// The fields of a new account (username, email, a password of at least 8 characters): registration and the admin's first run.
import { useState } from 'preact/hooks';

export interface NewAccount {
  username: string;
  email: string;
  password: string;
}

/** The fields' values, and a setter that changes some of them. */
export function useNewAccount(): [NewAccount, (change: Partial<NewAccount>) => void] {
  const [account, setAccount] = useState<NewAccount>({ username: '', email: '', password: '' });
  return [account, (change) => setAccount((old) => ({ ...old, ...change }))];
}

/** The three labelled inputs, with ids `<idPrefix>-username`, `-email`, `-password` (and `-password-help` with help). */
export function NewAccountFields({ idPrefix, account, onChange, help = false }: { idPrefix: string; account: NewAccount; onChange: (change: Partial<NewAccount>) => void; help?: boolean }) {
  return (
    <>
      <label for={`${idPrefix}-username`}>Username</label>
      <input id={`${idPrefix}-username`} autoComplete="username" required value={account.username} onInput={(e) => onChange({ username: e.currentTarget.value })} />
      <label for={`${idPrefix}-email`}>Email</label>
      <input id={`${idPrefix}-email`} type="email" autoComplete="email" required value={account.email} onInput={(e) => onChange({ email: e.currentTarget.value })} />
      <label for={`${idPrefix}-password`}>Password</label>
      <input
        id={`${idPrefix}-password`}
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        aria-describedby={help ? `${idPrefix}-password-help` : undefined}
        value={account.password}
        onInput={(e) => onChange({ password: e.currentTarget.value })}
      />
      {help && (
        <p id={`${idPrefix}-password-help`} class="help">
          At least 8 characters.
        </p>
      )}
    </>
  );
}
