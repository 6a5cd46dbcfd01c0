// A modal that asks before something that cannot be undone, and shows the server's refusal if it fails.
import type { ComponentChildren, RefObject } from 'preact';
import { useAction } from './use-action';

interface ConfirmProps {
  readonly dialog: RefObject<HTMLDialogElement>;
  /** Unique on the page: names the title and the text for assistive technology. */
  readonly id: string;
  readonly title: ComponentChildren;
  readonly children: ComponentChildren;
  readonly confirmLabel: string;
  readonly busyLabel: string;
  readonly action: () => Promise<void>;
  /** After the action succeeded and the dialog closed. */
  readonly onDone: () => void;
}

export function ConfirmDialog({ dialog, id, title, children, confirmLabel, busyLabel, action, onDone }: ConfirmProps) {
  const { busy, error, run } = useAction(action);
  const confirm = async () => {
    if (!(await run())) return;
    dialog.current?.close();
    onDone();
  };
  return (
    <dialog ref={dialog} aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p id={`${id}-text`}>{children}</p>
      {error && (
        <p class="error-text" role="alert">
          {error}
        </p>
      )}
      <div class="inline end">
        <button type="button" onClick={() => dialog.current?.close()} autoFocus>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
          {busy ? busyLabel : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
