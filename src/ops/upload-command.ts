// `imgd upload <files...>`: a terminal client over tus (tus-js-client). Where each upload got to is kept in a state
// file, so running the same command again after an interruption resumes every unfinished file where it stopped.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { uploadClientSettings, type UploadClientSettings } from '../config.js';

export interface UploadFlags {
  readonly server?: string;
  readonly token?: string;
  readonly key?: string;
  readonly description?: string;
  readonly visibility?: string;
  readonly chunkSize: string;
  readonly state?: string;
  readonly json?: boolean;
}

interface Uploaded {
  readonly file: string;
  readonly id: string;
  readonly url: string;
  readonly resumed: boolean;
}

/** The subset of tus-js-client's Node entry this command uses (its types describe the browser build). */
interface TusNode {
  Upload: typeof import('tus-js-client').Upload;
  FileUrlStorage: new (file: string) => NonNullable<import('tus-js-client').UploadOptions['urlStorage']>;
}

/** Tries after a failure before the file is reported as failed (running the command again resumes it). */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000];

function usage(message: string): never {
  process.stderr.write(`imgd upload: ${message}\n`);
  process.exit(2);
}

/** --token, else IMGD_TOKEN or AUTH_TOKEN, else the admin token a local server saved in DATA_DIR. */
async function credential(flag: string | undefined, settings: UploadClientSettings): Promise<string | undefined> {
  const given = flag ?? settings.token;
  if (given) return given;
  return (await readFile(settings.tokenFile, 'utf8').catch(() => '')).trim() || undefined;
}

/** The server's reason for a refusal (problem+json detail), else the client's own message. */
function reasonOf(err: unknown): string {
  const response = (err as { originalResponse?: { getBody(): string; getStatus(): number } | null }).originalResponse;
  if (response) {
    try {
      const body = JSON.parse(response.getBody()) as { detail?: string; code?: string };
      if (body.detail) return `${body.detail}${body.code ? ` (${body.code})` : ''}`;
    } catch {
      // not problem+json: the status says enough
    }
    return `the server answered ${response.getStatus()}`;
  }
  return (err as Error).message.split('\n')[0] ?? String(err);
}

function sendOne(tus: TusNode, file: string, options: { endpoint: string; token: string | undefined; metadata: Record<string, string>; chunkSize: number; storage: string }): Promise<Uploaded> {
  return new Promise((resolve, reject) => {
    let resumed = false;
    const upload = new tus.Upload(createReadStream(file), {
      endpoint: options.endpoint,
      chunkSize: options.chunkSize,
      retryDelays: RETRY_DELAYS,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      metadata: { filename: path.basename(file), ...options.metadata },
      urlStorage: new tus.FileUrlStorage(options.storage),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onSuccess: ({ lastResponse }) =>
        resolve({ file, id: lastResponse.getHeader('x-image-id') ?? '', url: lastResponse.getHeader('x-image-url') ?? '', resumed }),
      onError: reject,
    });
    upload.findPreviousUploads().then(
      (previous) => {
        const [last] = previous;
        if (last) {
          resumed = true;
          upload.resumeFromPreviousUpload(last);
        }
        upload.start();
      },
      (err: unknown) => reject(err as Error),
    );
  });
}

export async function uploadCommand(files: readonly string[], flags: UploadFlags): Promise<void> {
  const chunkSize = Number(flags.chunkSize);
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1024) usage('--chunk-size takes a number of bytes, at least 1024');
  if (flags.visibility !== undefined && !['public', 'private'].includes(flags.visibility)) usage('--visibility is public or private');
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) usage(`${file} is not a file`);
  }
  // Loaded here: the other commands do not need it.
  const tus = (await import('tus-js-client')) as unknown as TusNode;
  const settings = uploadClientSettings();
  const server = (flags.server ?? settings.server).replace(/\/+$/, '');
  const storage = flags.state ? path.resolve(flags.state) : settings.stateFile;
  await mkdir(path.dirname(storage), { recursive: true, mode: 0o700 });
  const metadata: Record<string, string> = {};
  if (flags.key) metadata.key = flags.key;
  if (flags.description) metadata.description = flags.description;
  if (flags.visibility) metadata.visibility = flags.visibility;
  const options = { endpoint: `${server}/api/v1/uploads`, token: await credential(flags.token, settings), metadata, chunkSize, storage };

  let failed = 0;
  for (const file of files) {
    try {
      const done = await sendOne(tus, file, options);
      process.stdout.write(flags.json ? `${JSON.stringify(done)}\n` : `${file}: ${done.url} (id ${done.id}${done.resumed ? ', resumed' : ''})\n`);
    } catch (err) {
      failed += 1;
      const reason = reasonOf(err);
      process.stdout.write(flags.json ? `${JSON.stringify({ file, error: reason })}\n` : '');
      process.stderr.write(`imgd upload: ${file}: ${reason}\n`);
    }
  }
  if (failed > 0) {
    process.stderr.write(`imgd upload: ${failed} of ${files.length} file(s) not uploaded; run the same command again to resume them\n`);
    process.exitCode = 1;
  }
}
