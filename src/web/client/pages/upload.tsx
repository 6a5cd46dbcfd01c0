// The upload page: where the next files go (visibility, key, description), then Uppy's dashboard.
import { useState } from 'preact/hooks';
import { Uploader, type UploadFields } from '../components/uploader';
import type { Visibility } from '../types';

export function VisibilityField({ id, value, onChange }: { id: string; value: Visibility; onChange: (v: Visibility) => void }) {
  return (
    <fieldset class="visibility">
      <legend>Visibility</legend>
      {(['public', 'private'] as const).map((v) => (
        <label key={v} class="radio">
          <input type="radio" name={id} value={v} checked={value === v} onChange={() => onChange(v)} />
          {v === 'public' ? 'Public: anyone with the link' : 'Private: only you (and share links)'}
        </label>
      ))}
    </fieldset>
  );
}

export function UploadPage() {
  const [fields, setFields] = useState<UploadFields>({ key: '', visibility: 'public', description: '' });
  const change = (patch: Partial<UploadFields>) => setFields((f) => ({ ...f, ...patch }));
  return (
    <div class="page">
      <h1 tabIndex={-1}>Upload images</h1>
      <form class="card form upload-options" onSubmit={(e) => e.preventDefault()} aria-label="Options for the next uploads">
        <VisibilityField id="upload-visibility" value={fields.visibility} onChange={(visibility) => change({ visibility })} />
        <div class="field-row">
          <div>
            <label for="upload-key">Key (optional)</label>
            <input
              id="upload-key"
              placeholder="product/42/main"
              aria-describedby="upload-key-help"
              value={fields.key}
              onInput={(e) => change({ key: e.currentTarget.value })}
            />
            <p id="upload-key-help" class="help">
              Groups images under a name of yours; each key has its own page at /k/<em>key</em>.
            </p>
          </div>
          <div>
            <label for="upload-description">Description (optional)</label>
            <input id="upload-description" value={fields.description} onInput={(e) => change({ description: e.currentTarget.value })} />
          </div>
        </div>
      </form>
      <Uploader fields={fields} />
    </div>
  );
}
