// The upload area: Uppy's dashboard (drop, paste, picker) posting each file to /api/v1/images, or for large files
// sending it over tus to /api/v1/uploads (a dropped connection resumes where it stopped), and a list of every file
// with its own progress bar, then its copy buttons or the server's reason for refusing it.
import Uppy, { type UppyFile } from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus from '@uppy/tus';
import XHRUpload from '@uppy/xhr-upload';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, authHeader, getCredential, serverSettings } from '../api';
import { formatBytes } from '../format';
import { Link } from '../router';
import { plainError } from '../error-text';
import type { Image, Settings, Visibility } from '../types';
import { CopyButton, CopyButtons } from './copy';
import { Picture } from './picture';

type UploadMeta = { key?: string; visibility: Visibility; description?: string };
type UploadBody = Record<string, unknown>;
const UPLOAD_ENDPOINT = '/api/v1/images';
const UPLOAD_FIELDS = ['key', 'visibility', 'description'] as const;
/** Files larger than this go over tus: a phone on a train, a proxy's body cap, a closed laptop lose nothing. */
export const RESUMABLE_ABOVE = 4 * 1024 * 1024;
const TUS_ENDPOINT = '/api/v1/uploads';
/** One PATCH per 5 MiB: under any proxy's body limit, and one staged part each on S3. */
const TUS_CHUNK = 5 * 1024 * 1024;
/** Tries after a failure (offline: Uppy waits for the browser to be online again, then goes on). */
const TUS_RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000];

type Uploader = (fileIDs: string[], uploadID: string) => Promise<void>;

export interface UploadFields {
  key: string;
  visibility: Visibility;
  description: string;
}

interface Row {
  id: string;
  name: string;
  size: number;
  percent: number;
  state: 'uploading' | 'done' | 'error';
  image?: Image;
  /** The image's URL when its object cannot be read with this credential (an upload token may not read). */
  url?: string;
  error?: string;
  /** The server's stable error code, for those who look it up in the API docs. */
  code?: string | undefined;
}

/** The problem+json `detail` and `code` of a refused upload, else something a person can act on. */
function uploadError(xhr: XMLHttpRequest): ApiError {
  let detail = '';
  let code = `http_${xhr.status}`;
  try {
    const body = JSON.parse(xhr.responseText) as { detail?: unknown; title?: unknown; code?: unknown };
    if (typeof body.detail === 'string') detail = body.detail;
    else if (typeof body.title === 'string') detail = body.title;
    if (typeof body.code === 'string') code = body.code;
  } catch {
    detail = '';
  }
  if (detail === '') detail = xhr.status === 0 ? 'The connection to the server was lost.' : `The server answered ${xhr.status}.`;
  return new ApiError(xhr.status, code, detail);
}

/** Uppy may hand the error on as the cause of its own. */
const codeOf = (error: Error): string | undefined =>
  error instanceof ApiError ? error.code : error.cause instanceof ApiError ? error.cause.code : undefined;

/** tus-js-client's error carries the server's answer: its problem+json says why. */
function tusError(error: Error): Error {
  const detailed = (error as { originalResponse?: { getUnderlyingObject(): unknown } | null }).originalResponse;
  const xhr = detailed?.getUnderlyingObject();
  return xhr instanceof XMLHttpRequest && xhr.status >= 400 ? uploadError(xhr) : error;
}

/**
 * Uppy runs every uploader plugin on every file, one after the other. Here each plugin gets its own files: the XHR
 * uploader the small ones (one POST each), tus the large ones. Their uploaders are taken as the plugins register them.
 */
function uploadBySize(uppy: Uppy<UploadMeta, UploadBody>, install: () => void): void {
  const taken: Uploader[] = [];
  const register = uppy.addUploader.bind(uppy);
  uppy.addUploader = (fn: Uploader) => void taken.push(fn);
  try {
    install();
  } finally {
    uppy.addUploader = register;
  }
  const [small, large] = taken;
  register(async (ids, uploadID) => {
    const resumable = ids.filter((id) => (uppy.getFile(id)?.size ?? 0) > RESUMABLE_ABOVE);
    await Promise.all([small?.(ids.filter((id) => !resumable.includes(id)), uploadID), large?.(resumable, uploadID)]);
  });
}

/** The limits and the paste hint, shown in the drop zone and, visibly at all times, under it. */
function limitsNote(settings: Settings): string {
  return `Images up to ${formatBytes(settings.maxFileSize)} each, ${settings.maxFiles} at a time${settings.formats.length ? ` (${settings.formats.join(', ')})` : ''}. You can also paste an image anywhere on this page.`;
}

interface UploaderProps {
  fields: UploadFields;
  /** A credential other than the signed-in one (an upload token from the URL). */
  token?: string | null;
  onUploaded?: (image: Image) => void;
}

export function Uploader({ fields, token, onUploaded }: UploaderProps) {
  const target = useRef<HTMLDivElement>(null);
  const uppyRef = useRef<Uppy<UploadMeta, UploadBody>>();
  const [rows, setRows] = useState<Row[]>([]);
  const latest = useRef({ token, onUploaded });
  latest.current = { token, onUploaded };

  useEffect(() => {
    const settings = serverSettings();
    const update = (id: string, change: Partial<Row>) => setRows((all) => all.map((row) => (row.id === id ? { ...row, ...change } : row)));
    const uppy = new Uppy<UploadMeta, UploadBody>({
      autoProceed: true,
      // Each refusal is shown beside its file below; Uppy's own console.error would only repeat it.
      logger: { debug: () => undefined, warn: (...args: unknown[]) => console.warn(...args), error: () => undefined },
      restrictions: { maxFileSize: settings.maxFileSize },
      meta: { visibility: 'public' },
    });
    uppy.use(Dashboard, {
      inline: true,
      target: target.current ?? undefined,
      width: '100%',
      height: 300,
      theme: 'auto',
      proudlyDisplayPoweredByUppy: false,
      hideProgressAfterFinish: true,
      // Each file's progress and refusal are shown once, in the list below: not again in Uppy's status bar or in
      // error bubbles that would cover the drop zone.
      disableStatusBar: true,
      disableInformer: true,
      note: limitsNote(settings),
    });
    uploadBySize(uppy, () => {
      uppy.use(XHRUpload, {
        endpoint: UPLOAD_ENDPOINT,
        fieldName: 'file',
        formData: true,
        bundle: false,
        limit: 3,
        allowedMetaFields: [...UPLOAD_FIELDS],
        headers: () => authHeader(latest.current.token ?? getCredential()),
        // A refused upload stays refused; retrying would only repeat the error.
        shouldRetry: () => false,
        onAfterResponse: (xhr) => {
          if (xhr.status >= 400) throw uploadError(xhr);
        },
      });
      uppy.use(Tus, {
        endpoint: TUS_ENDPOINT,
        chunkSize: TUS_CHUNK,
        limit: 2,
        retryDelays: TUS_RETRY_DELAYS,
        removeFingerprintOnSuccess: true,
        headers: () => authHeader(latest.current.token ?? getCredential()),
      });
    });

    const add = (file: UppyFile<UploadMeta, UploadBody>, change: Partial<Row> = {}) =>
      setRows((all) => [
        ...all.filter((row) => row.id !== file.id),
        { id: file.id, name: file.name ?? 'file', size: file.size ?? 0, percent: 0, state: 'uploading' as const, ...change },
      ]);
    uppy.on('file-added', (file) => {
      add(file);
      // Only the fields that have a value are sent: a listed field without one would arrive as "undefined".
      const sent = UPLOAD_FIELDS.filter((name) => typeof file.meta[name] === 'string' && file.meta[name] !== '');
      // tus sends name and type as its filename and filetype.
      uppy.setFileState(file.id, { xhrUpload: { endpoint: UPLOAD_ENDPOINT, allowedMetaFields: sent }, tus: { allowedMetaFields: ['name', 'type', ...sent] } });
    });
    uppy.on('restriction-failed', (file, error) => {
      if (file) add(file, { state: 'error', error: error.message });
    });
    uppy.on('upload-progress', (file, progress) => {
      if (!file || !progress.bytesTotal) return;
      update(file.id, { percent: Math.min(99, Math.round(((progress.bytesUploaded ?? 0) / progress.bytesTotal) * 100)) });
    });
    uppy.on('upload-success', (file, response) => {
      if (!file) return;
      const xhr = (response.body as { xhr?: unknown } | undefined)?.xhr;
      if (!(xhr instanceof XMLHttpRequest)) {
        const image = response.body as unknown as Image;
        update(file.id, { state: 'done', percent: 100, image, error: undefined });
        latest.current.onUploaded?.(image);
        return;
      }
      // The last tus PATCH names the image in its headers; its object comes from the API, if this credential may read it.
      const id = xhr.getResponseHeader('x-image-id') ?? '';
      const url = xhr.getResponseHeader('x-image-url') ?? undefined;
      update(file.id, { state: 'done', percent: 100, url, error: undefined });
      void api<Image>(`/api/v1/images/${encodeURIComponent(id)}`, { token: latest.current.token ?? getCredential() }).then(
        (image) => {
          update(file.id, { image });
          latest.current.onUploaded?.(image);
        },
        () => undefined,
      );
    });
    uppy.on('upload-error', (file, error) => {
      const reason = tusError(error);
      const code = codeOf(reason);
      if (file) update(file.id, { state: 'error', error: plainError(code, reason.message), code });
    });
    uppy.on('file-removed', (file) => setRows((all) => all.filter((row) => row.id !== file.id || row.state !== 'uploading')));
    // Finished files leave the dashboard (the list below keeps them), so it is ready for the next ones and a
    // refused file is not sent again with them.
    uppy.on('complete', (result) => {
      const finished = [...(result.successful ?? []), ...(result.failed ?? [])].map((file) => file.id);
      uppy.removeFiles(finished.filter((id) => uppy.getFile(id) !== undefined));
    });

    // Paste anywhere on the page; pastes inside the dashboard are its own.
    const onPaste = (event: ClipboardEvent) => {
      const files = Array.from(event.clipboardData?.files ?? []);
      if (files.length === 0 || target.current?.contains(document.activeElement)) return;
      event.preventDefault();
      for (const [i, file] of files.entries()) {
        const name = file.name && file.name !== 'image.png' ? file.name : `pasted-${Date.now()}-${i}.${file.type.split('/')[1] ?? 'png'}`;
        try {
          uppy.addFile({ name, type: file.type, data: file, source: 'paste' });
        } catch {
          // Refused by a restriction: 'restriction-failed' has put it in the list with the reason.
        }
      }
    };
    document.addEventListener('paste', onPaste);
    uppyRef.current = uppy;
    return () => {
      document.removeEventListener('paste', onPaste);
      uppy.destroy();
      uppyRef.current = undefined;
    };
  }, []);

  useEffect(() => {
    const meta: UploadMeta = { visibility: fields.visibility };
    if (fields.key.trim() !== '') meta.key = fields.key.trim();
    if (fields.description.trim() !== '') meta.description = fields.description.trim();
    // Replaces the previous values for files added from now on (a cleared field must not linger).
    uppyRef.current?.setState({ meta });
  }, [fields.key, fields.visibility, fields.description]);

  const done = rows.filter((r) => r.state === 'done').length;
  const failed = rows.filter((r) => r.state === 'error').length;
  return (
    <div class="uploader">
      <div ref={target} class="dashboard" />
      <p class="upload-limits muted" id="upload-limits">
        {limitsNote(serverSettings())}
      </p>
      {rows.length > 0 && (
        <section class="results" aria-labelledby="results-title">
          <h2 id="results-title">
            Uploads <span class="muted">({done} done{failed ? `, ${failed} failed` : ''} of {rows.length})</span>
          </h2>
          <ul class="result-list" aria-live="polite">
            {rows.map((row) => (
              <UploadRow key={row.id} row={row} />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

function UploadRow({ row }: { row: Row }) {
  const progressId = `progress-${row.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return (
    <li class={`result ${row.state}`} data-file={row.name} data-state={row.state}>
      <div class="result-thumb">{row.image ? <Picture image={row.image} variant="small" alt="" cover /> : <span class="picture cover" />}</div>
      <div class="result-body">
        <div class="result-head">
          <span class="result-name">{row.name}</span>
          <span class="muted">{formatBytes(row.size)}</span>
          {row.image && (
            <Link class="result-link" href={`/app/images/${encodeURIComponent(row.image.id)}`}>
              Details
            </Link>
          )}
        </div>
        {row.state !== 'error' && (
          <div class="result-progress">
            <label class="visually-hidden" for={progressId}>
              Upload of {row.name}
            </label>
            <progress id={progressId} max={100} value={row.percent}>
              {row.percent}%
            </progress>
            <span class="percent">{row.state === 'done' ? 'Uploaded' : `${row.percent}%`}</span>
          </div>
        )}
        {row.state === 'error' && (
          <p class="error-text" role="alert">
            <strong>Not uploaded:</strong> {row.error} {row.code && <code class="error-code">{row.code}</code>}
          </p>
        )}
        {row.image ? <CopyButtons image={row.image} name={row.name} /> : row.url && <CopyButton text={row.url} label="URL" what={`the URL of ${row.name}`} />}
      </div>
    </li>
  );
}
