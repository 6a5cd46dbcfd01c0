// The browser UI: the HTML shell for / and the client's own routes, and the bundle's content-hashed assets, served from memory.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../../core/errors.js';
import type { HttpContext } from '../context.js';

/** dist/web beside src/ and dist/: the same folder whether this file runs from src (tsx) or dist (node). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'web');

/** Paths the client routes itself (history API); each answers the same HTML shell. */
const SHELL_PATHS = ['/', '/app', '/app/*', '/k/*'];
const IMMUTABLE = 'public, max-age=31536000, immutable';
const COMPRESSIBLE = /^(text\/|application\/json)/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Compressed once, on the first request that accepts it. */
  encoded?: Promise<{ br: Buffer; gzip: Buffer }>;
}

const etagOf = (body: Buffer | string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
const escapeAttr = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function readAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return assets;
    throw err;
  }
  for (const name of names) {
    const body = await readFile(path.join(dir, name));
    assets.set(name, { body, type: TYPES[path.extname(name)] ?? 'application/octet-stream', etag: etagOf(body) });
  }
  return assets;
}

async function readShell(dir: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(dir, 'index.html'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>imgd</title>
<p>The web interface has not been built. Run <code>npm run build:web</code> (or <code>npm install</code>) and restart imgd.
The API is at <a href="/api/v1">/api/v1</a>, its documentation at <a href="/docs">/docs</a>.</p></html>`;

/** Only what the UI needs to shape its forms; nothing secret. */
function clientSettings(ctx: HttpContext): string {
  const { config } = ctx;
  return JSON.stringify({
    registration: config.auth.registration,
    maxFileSize: config.limits.fileSize,
    maxFiles: config.limits.files,
    formats: config.allowedFormats,
    processing: config.processing.enabled,
    shareMaxSeconds: config.auth.shareMaxSeconds,
  });
}

/** Same-origin scripts only; images and API calls may also go to PUBLIC_URL, which can name another host. */
function shellPolicy(publicUrl: string): string {
  const origin = URL.canParse(publicUrl) ? ` ${new URL(publicUrl).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Uppy's dashboard positions its progress and thumbnails with style attributes.
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${origin}`,
    `connect-src 'self'${origin}`,
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const notModified = (request: FastifyRequest, etag: string): boolean =>
  (request.headers['if-none-match'] ?? '').split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);

function acceptedEncoding(request: FastifyRequest): 'br' | 'gzip' | undefined {
  const accept = request.headers['accept-encoding'] ?? '';
  if (/\bbr\b/.test(accept)) return 'br';
  if (/\bgzip\b/.test(accept)) return 'gzip';
  return undefined;
}

async function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): Promise<FastifyReply> {
  reply.header('content-type', asset.type).header('cache-control', IMMUTABLE).header('etag', asset.etag);
  const compressible = COMPRESSIBLE.test(asset.type) && asset.body.length > 1024;
  if (compressible) reply.header('vary', 'accept-encoding');
  if (notModified(request, asset.etag)) return reply.code(304).send();
  const encoding = compressible ? acceptedEncoding(request) : undefined;
  if (encoding === undefined) return reply.send(asset.body);
  asset.encoded ??= Promise.all([
    brotli(asset.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: asset.body.length } }),
    gzipAsync(asset.body, { level: 9 }),
  ]).then(([br, gz]) => ({ br, gzip: gz }));
  const encoded = await asset.encoded;
  return reply.header('content-encoding', encoding).send(encoded[encoding]);
}

export function webRoutes(ctx: HttpContext, dir: string = WEB_DIR): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const [template, assets] = await Promise.all([readShell(dir), readAssets(path.join(dir, 'assets'))]);
    if (template === undefined) app.log.warn({ dir }, 'the web interface is not built: run npm run build:web');
    const html = template?.replace('<!--imgd:config-->', `<meta name="imgd-config" content="${escapeAttr(clientSettings(ctx))}">`);
    const htmlEtag = html === undefined ? undefined : etagOf(html);

    const shell = async (request: FastifyRequest, reply: FastifyReply) => {
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', shellPolicy(ctx.publicUrl()));
      if (html === undefined || htmlEtag === undefined) return reply.code(503).send(NOT_BUILT);
      reply.header('etag', htmlEtag);
      if (notModified(request, htmlEtag)) return reply.code(304).send();
      return reply.send(html);
    };
    for (const url of SHELL_PATHS) app.get(url, { schema: { hide: true } }, shell);

    app.get<{ Params: { name: string } }>('/assets/:name', { schema: { hide: true } }, async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset) throw new ImgdError('not_found', `No asset ${JSON.stringify(request.params.name)}.`);
      return sendAsset(request, reply, asset);
    });
  };
}
