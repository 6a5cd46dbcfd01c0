// The request schemas of the image routes: the upload form and query, the list filters, a change.
import { Type } from '@sinclair/typebox';
import { KEY_PATTERN } from '../../core/upload/fields.js';
import { IMAGE_SORTS, IMAGE_STATUSES } from '../../core/images/image.js';
import { Binary } from '../openapi.js';

/** The multipart form of POST /api/v1/images (read part by part by the route; for the document only). */
export const UploadForm = Type.Object({
  file: Type.Array(Binary(), { minItems: 1, description: 'One part per image (MAX_FILES at most)' }),
  description: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  visibility: Type.Optional(Type.String({ enum: ['public', 'private'] })),
});

export const UploadQuery = Type.Object({
  filename: Type.Optional(Type.String({ description: 'Original file name (only its stem is used)' })),
  description: Type.Optional(Type.String()),
  key: Type.Optional(Type.String({ pattern: KEY_PATTERN })),
  visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
});

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
    key: Type.Optional(Type.String({ maxLength: 200 })),
    status: Type.Optional(Type.Union(IMAGE_STATUSES.map((s) => Type.Literal(s)))),
    owner: Type.Optional(Type.String({ maxLength: 64, description: 'Owner user id (admins; users always see their own)' })),
    created_after: Type.Optional(Type.String({ format: 'date-time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time' })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Search: every word must appear in the name, key or description (case-insensitive)' })),
    sort: Type.Optional(
      Type.Union(IMAGE_SORTS.map((s) => Type.Literal(s)), {
        description: 'newest (the default) or oldest first, name (A to Z), size (largest first); a cursor only continues the order it came from',
      }),
    ),
  },
  { additionalProperties: false },
);

export const PatchBody = Type.Object(
  {
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    key: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ description: 'Front of the shop', visibility: 'public' }] },
);
