// Copy buttons: the clipboard API where the page may use it (HTTPS, localhost), a selected textarea elsewhere.
import { useEffect, useRef, useState } from 'preact/hooks';
import { snippets } from '../format';
import type { Image } from '../types';

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  try {
    // The only way to copy on plain HTTP; deprecated but still implemented everywhere.
    if (!document.execCommand('copy')) throw new Error('copy refused');
  } finally {
    area.remove();
  }
}

interface CopyButtonProps {
  text: string;
  /** The button's visible text ("URL", "Copy", …). */
  label: string;
  /** What is copied, in full, for screen readers when several buttons look alike: "the URL of cat.jpg". */
  what: string;
}

export function CopyButton({ text, label, what }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number>();
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const copy = async () => {
    try {
      await copyText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState('idle'), 2500);
  };
  return (
    <button
      type="button"
      class={`copy ${state}`}
      data-copy={label}
      title={text}
      aria-label={`Copy ${what}`}
      onClick={() => void copy()}
    >
      {state === 'copied' ? 'Copied ✓' : state === 'failed' ? 'Copy failed' : label}
      <span class="visually-hidden" aria-live="polite">
        {state === 'copied' ? `Copied ${what}` : state === 'failed' ? 'Your browser refused to copy; select the text instead.' : ''}
      </span>
    </button>
  );
}

/** One row of copy buttons for an image: URL, Markdown, HTML, BBCode. */
export function CopyButtons({ image, name }: { image: Image; name: string }) {
  return (
    <div class="copy-row" role="group" aria-label={`Copy links to ${name}`}>
      {snippets(image).map((s) => (
        <CopyButton key={s.label} label={s.label} text={s.text} what={`${s.label} of ${name}`} />
      ))}
    </div>
  );
}

/** Each snippet in a read-only field beside its copy button, for the detail view. */
export function SnippetFields({ image, url }: { image: Image; url?: string }) {
  return (
    <div class="snippets">
      {snippets(image, url).map((s) => {
        const id = `snippet-${s.label.toLowerCase()}`;
        return (
          <div class="snippet" key={s.label}>
            <label for={id}>{s.label}</label>
            <input id={id} readOnly value={s.text} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton label="Copy" text={s.text} what={s.label} />
          </div>
        );
      })}
    </div>
  );
}
