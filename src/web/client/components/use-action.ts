// Runs a request on the user's behalf: busy while it runs, the server's refusal as the error, true when it succeeded.
import { useState } from 'preact/hooks';
import { messageOf } from '../api';

export function useAction(action: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
