// For the COMPAT profile tests: multipart bodies built byte for byte (empty and odd filenames, declared types), and real photos in the seeds' formats.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import sharp from 'sharp';
import { fixture, TOKEN, type TestApp } from './app.js';

export interface Part {
  readonly name: string;
  /** Omitted: a plain field; `''`: a file part sent with an empty filename. */
  readonly filename?: string;
  readonly type?: string;
  readonly data: Uint8Array | string;
}

/** A multipart/form-data body exactly as given, with its Content-Type header. */
export function multipart(parts: readonly Part[]): { body: Buffer; headers: Record<string, string> } {
  const boundary = '----imgdcompat7MA4YWxkTrZu0gW';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** POSTs one `file` part (and fields) to url. */
export function postFile(url: string, file: Omit<Part, 'name'>, headers: Record<string, string> = {}, fields: Record<string, string> = {}): Promise<Response> {
  const form = multipart([...Object.entries(fields).map(([name, data]) => ({ name, data })), { name: 'file', ...file }]);
  return fetch(url, { method: 'POST', body: form.body, headers: { ...form.headers, ...headers } });
}

export const PHOTO = fixture('jpg/Canon_40D.jpg');
export const photo = (): Promise<Buffer> => readFile(PHOTO);

/** A real photo converted (sharp) to another format the seeds took. */
export async function photoAs(format: 'png' | 'gif' | 'webp', width = 320): Promise<Buffer> {
  const pipeline = sharp(await readFile(fixture('jpg/Reconyx_HC500_Hyperfire.jpg'))).resize({ width });
  if (format === 'png') return pipeline.png().toBuffer();
  if (format === 'gif') return pipeline.gif().toBuffer();
  return pipeline.webp().toBuffer();
}

/** An uncompressed PNG of a real photo, over 1 MiB: for exactly-L and L+1 uploads. */
export const largePhoto = async (): Promise<Buffer> =>
  sharp(await readFile(fixture('jpg/Reconyx_HC500_Hyperfire.jpg'))).resize({ width: 800, height: 600, fit: 'fill' }).png({ compressionLevel: 0 }).toBuffer();

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  json(): unknown;
}

/**
 * A request with the path and headers exactly as given (fetch normalizes `%2E%2E` away and will not send
 * its own Host): for proxies' headers and paths that are not plain file names.
 */
export function rawRequest(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) as unknown });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The native count of upload attempts (accepted and refused), which every profile's uploads feed (COMPAT.md §2.1). */
export async function attempts(base: string, headers: Record<string, string>): Promise<{ total: number; failed: number }> {
  const stats = (await (await fetch(`${base}/api/v1/stats`, { headers })).json()) as { total: number; failed: number };
  return { total: stats.total, failed: stats.failed };
}

/** The native URL (`url` of the image object) of the image a profile stored under this filename, as the admin sees it. */
export async function nativeUrl(t: TestApp, filename: string): Promise<string> {
  const res = await fetch(`${t.url}/api/v1/images?limit=100&q=${encodeURIComponent(filename)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const list = (await res.json()) as { items: { filename: string; url: string }[] };
  const image = list.items.find((i) => i.filename === filename);
  if (!image) throw new Error(`no imgd image is named ${filename}`);
  return image.url;
}
