// attachments' API documentation (seed 002's /docs, /redoc, /openapi.json): merged into imgd's own on the main listener,
// its own on a listener of its own; every asset comes from imgd, none from a CDN.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { WEB_DIR } from '../routes/web.js';

/** ReDoc's standalone bundle: copied into dist/web by the build, or straight from the dev dependency. */
function redocBundle(): string | undefined {
  const built = path.join(WEB_DIR, 'vendor', 'redoc.standalone.js');
  if (existsSync(built)) return built;
  try {
    return createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
  } catch {
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
}

/**
 * The `/redoc` page: ReDoc (served by imgd, no CDN) over `/openapi.json`, with a reference table of every path and
 * method for a browser without script (and the whole page when the ReDoc bundle is not installed).
 */
export function referencePage(document: { info?: { title?: string }; paths?: Record<string, Record<string, Operation>> }, redoc: boolean): string {
  const rows = Object.entries(document.paths ?? {}).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method))
      .map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary ?? op.description ?? '')}</td></tr>`,
      ),
  );
  const title = escapeHtml(document.info?.title ?? 'API');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} - ReDoc</title></head>
<body>
${redoc ? '<redoc spec-url="/openapi.json"></redoc>\n<script src="/redoc/redoc.standalone.js"></script>\n<noscript>' : ''}
<h1>${title}</h1>
<p>The OpenAPI document: <a href="/openapi.json">/openapi.json</a>; interactive: <a href="/docs">/docs</a>.</p>
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${redoc ? '</noscript>' : ''}
</body>
</html>
`;
}

/**
 * Registers the docs before the profile's routes (the OpenAPI plugin sees the routes registered after it). On the main
 * listener `/docs` and `/openapi.json` are imgd's and list the profile's routes too; only `/redoc` is added there.
 */
export async function registerAttachmentsDocs(app: FastifyInstance): Promise<void> {
  const own = !app.hasRoute({ method: 'GET', url: '/openapi.json' });
  if (own) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Image Attachment Service (imgd)', version: '1' },
        components: { securitySchemes: { OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: 'token', scopes: {} } } } } },
        security: [{ OAuth2PasswordBearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }
  const bundle = redocBundle();
  app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      // Everything from imgd: ReDoc's footer logo on its CDN is not fetched. It styles itself inline and searches in a worker.
      .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; frame-ancestors 'none'")
      .send(referencePage(app.swagger() as Parameters<typeof referencePage>[0], bundle !== undefined)),
  );
  if (bundle) {
    app.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(await readFile(bundle)),
    );
  }
}
