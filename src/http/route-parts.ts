// What the JSON API's route files share: the Image schema's reference, problem answers, and the image object by viewer.
import { Type } from '@sinclair/typebox';
import { maySeeLocation } from '../core/access/policy.js';
import type { Actor } from '../core/access/actor.js';
import type { ImageRecord } from '../core/images/image.js';
import type { HttpContext } from './context.js';
import { imageView, type ImageView } from './image-view.js';

export const ImageRef = Type.Ref('Image');
export { problems } from './openapi.js';
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The image object as this actor may see it (GPS only for the owner and admins). */
export function imageViews(ctx: HttpContext): (actor: Actor) => (image: ImageRecord) => ImageView {
  const presets = ctx.config.processing.enabled ? ctx.variants.presetNames() : [];
  const urls = ctx.config.imageUrls;
  return (actor) => (image) => imageView(image, ctx.publicUrl(), { presets, urls, showLocation: maySeeLocation(actor, image) });
}
