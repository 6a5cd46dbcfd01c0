// attachments' API documentation (seed 002's /docs, /redoc, /openapi.json): merged into imgd's own on the main listener,
// its own on a listener of its own; every asset comes from imgd, none from a CDN.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
}

/** A reference page of the OpenAPI document, rendered here: every path and method with its summary, no script. */
export function referencePage(document: { info?: { title?: string }; paths?: Record<string, Record<string, Operation>> }): string {
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
<head><meta charset="utf-8"><title>${title} - ReDoc</title></head>
<body>
<h1>${title}</h1>
<p>The OpenAPI document: <a href="/openapi.json">/openapi.json</a>; interactive: <a href="/docs">/docs</a>.</p>
<table>
<thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
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
  app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(referencePage(app.swagger() as Parameters<typeof referencePage>[0])),
  );
}
