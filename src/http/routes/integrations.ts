// Screenshot tools set up in one click: a ShareX custom uploader (.sxcu) and a Flameshot + curl script, each carrying
// the API key it is requested with (keys are stored hashed, so only the request that presents one can embed it).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { requireScope } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import { bearerToken } from '../actor.js';
import type { HttpContext } from '../context.js';
import { problems } from './account-schemas.js';

const SharexSchema = Type.Object({
  Version: Type.String(),
  Name: Type.String(),
  DestinationType: Type.String(),
  RequestMethod: Type.Literal('POST'),
  RequestURL: Type.String(),
  Headers: Type.Object({ Authorization: Type.String() }),
  Body: Type.Literal('MultipartFormData'),
  FileFormName: Type.Literal('file'),
  URL: Type.String(),
  ThumbnailURL: Type.String(),
  ErrorMessage: Type.String(),
});

/** The API key this request came with, allowed to upload; the files are useless with anything else. */
function uploadKey(request: FastifyRequest): string {
  const { actor } = request;
  requireScope(actor, 'upload');
  const token = actor.kind === 'user' && actor.apiKeyId !== null ? bearerToken(request) : undefined;
  if (!token) throw new ImgdError('forbidden', 'These files carry an API key: request them with the key itself (Authorization: Bearer imgd_k_…), one with the upload scope.');
  return token;
}

const hostOf = (url: string): string => (URL.canParse(url) ? new URL(url).host : 'imgd');
const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export function flameshotScript(endpoint: string, key: string): string {
  return `#!/bin/sh
# Flameshot to imgd: take a screenshot, upload it, print its URL and copy it to the clipboard.
# Keep this file private (chmod 700): it holds an API key. Bind it to a key in your desktop's shortcut settings.
set -eu
IMGD_URL=${shellQuote(endpoint)}
IMGD_KEY=${shellQuote(key)}
file=$(mktemp)
trap 'rm -f "$file"' EXIT
flameshot gui --raw > "$file"
[ -s "$file" ] || exit 0  # cancelled
answer=$(curl -sS --fail-with-body -H "Authorization: Bearer $IMGD_KEY" -F "file=@$file;filename=screenshot.png;type=image/png" "$IMGD_URL") || {
  echo "imgd: upload failed: $answer" >&2; exit 1; }
url=$(printf '%s' "$answer" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d '"' -f 4)
printf '%s\\n' "$url"
{ command -v wl-copy >/dev/null && printf '%s' "$url" | wl-copy; } ||
  { command -v xclip >/dev/null && printf '%s' "$url" | xclip -selection clipboard; } || true
command -v notify-send >/dev/null && notify-send "imgd" "Uploaded: $url" || true
`;
}

export function integrationRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    const endpoint = () => `${ctx.publicUrl()}/api/v1/images`;

    app.get(
      '/api/v1/integrations/sharex',
      {
        schema: {
          summary: 'A ShareX custom uploader (.sxcu) for the API key this request is made with',
          description: 'Request it with the key (Authorization: Bearer imgd_k_…, upload scope); import the file in ShareX (double-click it).',
          operationId: 'getSharexConfig',
          tags: ['integrations'],
          response: { 200: SharexSchema, ...problems(401, 403) },
        },
      },
      async (request, reply) => {
        const key = uploadKey(request);
        // It holds the key: no cache, shared or private, may keep it.
        reply.header('cache-control', 'no-store');
        reply.header('content-disposition', `attachment; filename="imgd-${hostOf(ctx.publicUrl()).replace(/[^\w.-]/g, '_')}.sxcu"`);
        return {
          Version: '15.0.0',
          Name: `imgd (${hostOf(ctx.publicUrl())})`,
          DestinationType: 'ImageUploader, FileUploader',
          RequestMethod: 'POST' as const,
          RequestURL: endpoint(),
          Headers: { Authorization: `Bearer ${key}` },
          Body: 'MultipartFormData' as const,
          FileFormName: 'file' as const,
          URL: '{json:url}',
          ThumbnailURL: '{json:variants.small}',
          ErrorMessage: '{json:detail}',
        };
      },
    );

    app.get(
      '/api/v1/integrations/flameshot',
      {
        schema: {
          summary: 'A shell script that takes a screenshot with Flameshot and uploads it with curl, for the API key this request is made with',
          operationId: 'getFlameshotScript',
          tags: ['integrations'],
          produces: ['text/x-shellscript'],
          response: { 200: { description: 'The script', content: { 'text/x-shellscript': { schema: Type.String() } } }, ...problems(401, 403) },
        },
      },
      async (request, reply) => {
        const script = flameshotScript(endpoint(), uploadKey(request));
        return reply
          .header('content-type', 'text/x-shellscript; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('content-disposition', 'attachment; filename="imgd-flameshot.sh"')
          .send(script);
      },
    );
  };
}
