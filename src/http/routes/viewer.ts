// The viewer pages: /v/<key> for an image, /v/a/<id> for a shared album; HTML with link-preview tags and a raw link.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { mayView } from '../../core/access/policy.js';
import { isUrlKey } from '../../core/ids.js';
import type { ImageRecord } from '../../core/images/image.js';
import type { HttpContext } from '../context.js';
import { imageUrl, pageUrl } from '../image-view.js';
import { albumPage, imagePage, missingPage, VIEWER_CSP, type Preview, type ViewerImage } from '../viewer-page.js';

const SignedQuery = Type.Object({
  expires: Type.Optional(Type.String({ description: 'Share links: expiry (Unix seconds)' })),
  sig: Type.Optional(Type.String({ description: 'Share links: signature' })),
});
const ALBUM_PAGE_IMAGES = 200;
/** The answers of a viewer page for the OpenAPI document: HTML either way (a 404 is a page too, not a problem). */
const PAGE_ANSWERS = {
  200: { description: 'The page', content: { 'text/html': { schema: Type.String() } } },
  404: { description: 'A page saying there is nothing here', content: { 'text/html': { schema: Type.String() } } },
};

const sizeText = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`);

export function viewerRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { config } = ctx;
  const presets = config.processing.enabled ? config.processing.presets : {};
  /** The preview preset: `medium` when there is one, else the largest. */
  const previewPreset = Object.entries(presets).sort(([a, x], [b, y]) => (a === 'medium' ? -1 : b === 'medium' ? 1 : (y.width ?? 0) - (x.width ?? 0)))[0];
  const thumbPreset = presets.small ? 'small' : previewPreset?.[0];

  /** A variant URL pinned to a format every link-preview fetcher reads (they rarely take AVIF or WebP). */
  function variant(image: ImageRecord, preset: string | undefined, signed: string): { url: string; width: number; height: number; type: string } {
    const raw = imageUrl(ctx.publicUrl(), image, config.imageUrls);
    const options = preset === undefined ? undefined : presets[preset];
    if (!options || image.format === 'svg') return { url: `${raw}${signed}`, width: image.width, height: image.height, type: image.contentType };
    const format = image.hasAlpha ? 'png' : 'jpeg';
    const scale = Math.min(1, (options.width ?? image.width) / image.width, (options.height ?? image.height) / image.height);
    const query = signed === '' ? `?format=${format}` : `${signed}&format=${format}`;
    return { url: `${raw}/${preset}${query}`, width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)), type: `image/${format}` };
  }

  const titleOf = (image: ImageRecord): string => image.description?.split('\n')[0]?.slice(0, 120) || image.originalName || image.filename;

  function viewerImage(image: ImageRecord, signed: string): ViewerImage {
    const preview = variant(image, previewPreset?.[0], signed);
    return {
      pageUrl: `${pageUrl(ctx.publicUrl(), image)}${signed}`,
      rawUrl: `${imageUrl(ctx.publicUrl(), image, config.imageUrls)}${signed}`,
      displayUrl: preview.url,
      thumbUrl: variant(image, thumbPreset, signed).url,
      alt: image.description ?? image.caption ?? image.originalName ?? image.filename,
      facts: `${image.width} × ${image.height} ${image.format.toUpperCase()}, ${sizeText(image.bytes)}`,
    };
  }

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/html; charset=utf-8').header('content-security-policy', VIEWER_CSP).header('cache-control', 'private, no-cache').send(body);

  return async (app) => {
    app.get(
      '/v/:key',
      {
        schema: {
          operationId: 'viewImagePage',
          summary: 'An image\'s viewer page (HTML) with Open Graph and Twitter card tags; private images with a share link\'s expires and sig',
          tags: ['viewer'],
          params: Type.Object({ key: Type.String({ maxLength: 64, description: 'The random key of the image\'s URL' }) }),
          querystring: SignedQuery,
          produces: ['text/html'],
          response: PAGE_ANSWERS,
        },
      },
      async (request, reply) => {
        const { expires, sig } = request.query;
        const image = isUrlKey(request.params.key) ? await ctx.catalog.getImageByUrlKey(request.params.key) : undefined;
        const shared = image !== undefined && sig !== undefined && ctx.shares.verify(image.id, expires, sig);
        if (!image || image.status === 'failed' || !(mayView(request.actor, image) || shared)) return html(reply, 404, missingPage('image'));
        const signed = shared ? `?expires=${expires}&sig=${sig}` : '';
        const shown = viewerImage(image, signed);
        const preview: Preview = {
          title: titleOf(image),
          description: image.description ?? shown.facts,
          pageUrl: shown.pageUrl,
          image: { ...variant(image, previewPreset?.[0], signed), alt: shown.alt },
        };
        return html(reply, 200, imagePage(preview, shown));
      },
    );

    app.get(
      '/v/a/:id',
      {
        schema: {
          operationId: 'viewAlbumPage',
          summary: 'A shared album\'s viewer page (HTML) with Open Graph tags: needs the expires and sig of POST /api/v1/albums/{id}/share',
          tags: ['viewer'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          querystring: SignedQuery,
          produces: ['text/html'],
          response: PAGE_ANSWERS,
        },
      },
      async (request, reply) => {
        const { expires, sig } = request.query;
        const { id } = request.params;
        const found = ctx.albumShares.verify(id, expires, sig) ? await ctx.albums.shared(id, ALBUM_PAGE_IMAGES) : undefined;
        if (!found) return html(reply, 404, missingPage('album'));
        // The album's link vouches for its images until it expires: each private one gets a share link of the same expiry.
        const signedFor = (image: ImageRecord): string => {
          if (image.visibility === 'public') return '';
          const signature = ctx.shares.sign(image.id, Number(expires));
          return `?expires=${signature.expires}&sig=${signature.sig}`;
        };
        const shown = found.images.filter((i) => i.status !== 'failed');
        const [cover] = shown;
        const count = found.album.imageCount;
        const preview: Preview = {
          title: found.album.name,
          description: `${count} image${count === 1 ? '' : 's'}`,
          pageUrl: `${ctx.publicUrl()}/v/a/${id}?expires=${expires}&sig=${sig}`,
          image: cover ? { ...variant(cover, previewPreset?.[0], signedFor(cover)), alt: found.album.name } : null,
        };
        return html(reply, 200, albumPage(preview, shown.map((image) => viewerImage(image, signedFor(image)))));
      },
    );
  };
}
