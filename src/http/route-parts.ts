// What the JSON API's route files share: the Image schema's reference, problem answers, and the image object by viewer.
import { Type, type TSchema } from '@sinclair/typebox';
import { maySeeLocation } from '../core/access/policy.js';
import { ImgdError } from '../core/errors.js';
import type { Actor } from '../core/access/actor.js';
import type { ImageRecord } from '../core/images/image.js';
import type { HttpContext } from './context.js';
import { imageView, Nullable, type ImageView } from './image-view.js';

export const ImageRef = Type.Ref('Image');
export { problems } from './openapi.js';
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The schema of a page of a list: its items, and the cursor of the next page (null on the last). */
export const PageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), next_cursor: Nullable(Type.String()) });

/** A page of records as the API answers it, each in its view (see PageOf). */
export function pageOf<R, V>(page: { readonly items: readonly R[]; readonly nextCursor: string | null }, view: (record: R) => V): { items: V[]; next_cursor: string | null } {
  return { items: page.items.map(view), next_cursor: page.nextCursor };
}

/** When a share link asked to last expiresIn seconds expires (Unix seconds); refused past the server's maximum. */
export function shareUntil(expiresIn: number, maxSeconds: number): number {
  if (expiresIn > maxSeconds) throw new ImgdError('validation_failed', `expires_in may be at most ${maxSeconds} seconds.`, { field: 'expires_in' });
  return Math.floor(Date.now() / 1000) + expiresIn;
}

/** The image object as this actor may see it (GPS only for the owner and admins). */
export function imageViews(ctx: HttpContext): (actor: Actor) => (image: ImageRecord) => ImageView {
  const presets = ctx.config.processing.enabled ? ctx.variants.presetNames() : [];
  const urls = ctx.config.imageUrls;
  return (actor) => (image) => imageView(image, ctx.publicUrl(), { presets, urls, showLocation: maySeeLocation(actor, image) });
}
