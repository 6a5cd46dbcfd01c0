// The image object of the JSON API, and its schema for validation and the OpenAPI document.
import { Type, type Static, type TInteger, type TString } from '@sinclair/typebox';
import type { ImageUrlShape } from '../config.js';
import type { ImageRecord } from '../core/images/image.js';

/**
 * `type: [T, 'null']` rather than `anyOf: [T, null]`: the response serializer (fast-json-stringify) writes the former
 * with a null check, while for the latter it runs an Ajv validator on every value to choose a branch (and compiles
 * those validators on the first response). Same JSON, same static type; OpenAPI 3.1 allows type arrays.
 */
export const Nullable = <T extends TString | TInteger>(schema: T) => Type.Unsafe<Static<T> | null>({ ...(JSON.parse(JSON.stringify(schema)) as object), type: [schema.type, 'null'] });

/** A closed set of strings as `enum`, which the serializer writes as a plain string (a union of literals is an anyOf). */
const OneOf = <const V extends readonly string[]>(values: V) => Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });

export const ImageSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String({
      description: 'Absolute URL of the original bytes: `<PUBLIC_URL>/i/<key>/<filename>`, the key 16 random base64url characters (`/i/<filename>` with IMAGE_URLS=name)',
    }),
    page_url: Type.String({
      description: 'Absolute URL of the image\'s viewer page, `<PUBLIC_URL>/v/<key>`, with Open Graph tags for link previews (private images: from a share link only)',
    }),
    filename: Type.String({ description: 'Stored name: slugified stem and the extension of the detected format' }),
    original_name: Nullable(Type.String()),
    content_type: Type.String(),
    format: Type.String(),
    bytes: Type.Integer(),
    width: Type.Integer(),
    height: Type.Integer(),
    frames: Type.Integer(),
    sha256: Type.String(),
    status: OneOf(['processing', 'ready', 'failed']),
    error: Nullable(Type.String()),
    visibility: OneOf(['public', 'private']),
    key: Nullable(Type.String()),
    description: Nullable(Type.String()),
    owner_id: Nullable(Type.String()),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    variants: Type.Record(Type.String(), Type.String(), { description: 'Variant name to absolute URL' }),
    exif: Type.Unknown({ description: 'Camera facts once processed; GPS only for the owner and admins' }),
    placeholder: Nullable(Type.String({ description: 'ThumbHash, base64' })),
    caption: Nullable(Type.String()),
  },
  {
    $id: 'Image',
    examples: [
      {
        id: '01JFQ3X8ZK4M2N7P9R5T6V8W0Y',
        url: 'http://127.0.0.1:8080/i/q3Zk9Xw_hT2mRb1E/photo.jpg',
        filename: 'photo.jpg',
        original_name: 'Photo.JPG',
        content_type: 'image/jpeg',
        format: 'jpeg',
        bytes: 48213,
        width: 1024,
        height: 768,
        frames: 1,
        sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        status: 'ready',
        error: null,
        visibility: 'public',
        key: 'product/42/main',
        description: 'Front of the shop',
        owner_id: null,
        created_at: '2026-02-07T12:01:02.123Z',
        updated_at: '2026-02-07T12:01:03.456Z',
        variants: {
          small: 'http://127.0.0.1:8080/i/q3Zk9Xw_hT2mRb1E/photo.jpg/small',
          medium: 'http://127.0.0.1:8080/i/q3Zk9Xw_hT2mRb1E/photo.jpg/medium',
        },
        exif: { make: 'Canon', model: 'Canon EOS 40D', orientation: 1 },
        placeholder: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
        caption: null,
      },
    ],
  },
);
export type ImageView = Static<typeof ImageSchema>;

/** The viewer page of an image (`/v/<key>`, whatever IMAGE_URLS says: the key is the unguessable part). */
export const pageUrl = (publicUrl: string, image: Pick<ImageRecord, 'urlKey'>): string => `${publicUrl}/v/${image.urlKey}`;

/** The URL of an image's original; its variants are this URL with `/<variant>` added. */
export function imageUrl(publicUrl: string, image: Pick<ImageRecord, 'filename' | 'urlKey'>, shape: ImageUrlShape): string {
  const name = encodeURIComponent(image.filename);
  return shape === 'keyed' ? `${publicUrl}/i/${image.urlKey}/${name}` : `${publicUrl}/i/${name}`;
}

export interface ViewOptions {
  readonly urls: ImageUrlShape;
  readonly presets: readonly string[];
  /** Whether the viewer may see GPS coordinates in the EXIF. */
  readonly showLocation: boolean;
}

function withoutLocation(exif: unknown): unknown {
  if (exif === null || typeof exif !== 'object') return exif ?? null;
  return { ...(exif as Record<string, unknown>), gps: null };
}

export function imageView(image: ImageRecord, publicUrl: string, options: ViewOptions): ImageView {
  const url = imageUrl(publicUrl, image, options.urls);
  return {
    id: image.id,
    url,
    page_url: pageUrl(publicUrl, image),
    filename: image.filename,
    original_name: image.originalName,
    content_type: image.contentType,
    format: image.format,
    bytes: image.bytes,
    width: image.width,
    height: image.height,
    frames: image.frames,
    sha256: image.sha256,
    status: image.status,
    error: image.error,
    visibility: image.visibility,
    key: image.key,
    description: image.description,
    owner_id: image.ownerId,
    created_at: image.createdAt,
    updated_at: image.updatedAt,
    variants: Object.fromEntries(options.presets.map((name) => [name, `${url}/${name}`])),
    exif: options.showLocation ? (image.exif ?? null) : withoutLocation(image.exif),
    placeholder: image.placeholder,
    caption: image.caption,
  };
}
