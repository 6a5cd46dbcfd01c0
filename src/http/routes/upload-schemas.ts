// The OpenAPI side of the tus routes (the protocol reads headers and bodies itself: these schemas are for the document).
import { Type } from '@sinclair/typebox';
import { bytesOf, problems } from '../openapi.js';

/** Fresh objects for each app: Fastify marks and rewrites the route schemas it is given. */
export function tusSchemas() {
  const TusHeaders = {
    'tus-resumable': Type.Optional(Type.String({ description: 'Always 1.0.0 (not on OPTIONS)' })),
  };
  const one = { params: Type.Object({ id: Type.String() }), tags: ['resumable uploads'] };

  return {
    capabilities: {
      operationId: 'getResumableCapabilities',
      summary: 'tus capabilities: Tus-Version, Tus-Extension, Tus-Max-Size (MAX_FILE_SIZE), Tus-Checksum-Algorithm',
      tags: ['resumable uploads'],
      security: [],
      response: { 204: Type.Null({ description: 'Capabilities in the headers' }) },
    },
    create: {
      operationId: 'createResumableUpload',
      summary: 'Create a resumable upload (tus creation; a body with Content-Type application/offset+octet-stream is its first bytes)',
      description:
        'Upload-Length is required (at most MAX_FILE_SIZE, or an upload token\'s max_bytes: 413 otherwise). Upload-Metadata: ' +
        '`filename`, `filetype` (ignored: the content decides), `description`, `key`, `visibility`, base64-encoded. ' +
        'Answers 201 with Location (the upload URL), Upload-Offset when a body came along, and Upload-Expires. ' +
        'Idempotency-Key replays the first answer for a retry with the same headers.',
      tags: ['resumable uploads'],
      headers: Type.Object({
        ...TusHeaders,
        'upload-length': Type.String({ description: 'Total bytes' }),
        'upload-metadata': Type.Optional(Type.String()),
        'upload-checksum': Type.Optional(Type.String({ description: 'sha256 <base64>, for a body sent with the creation' })),
        'idempotency-key': Type.Optional(Type.String()),
      }),
      response: {
        201: Type.Null({ description: 'Created; Location names the upload (with the whole file as its body: X-Image-Id and X-Image-Url too)' }),
        ...problems(400, 401, 403, 413, 415, 422, 460),
      },
    },
    status: {
      ...one,
      operationId: 'getResumableUpload',
      summary: 'Where an upload stands: Upload-Offset, Upload-Length, Upload-Metadata; once finished also X-Image-Id and X-Image-Url',
      response: { 200: Type.Null({ description: 'In the headers' }), ...problems(404, 410) },
    },
    append: {
      ...one,
      operationId: 'appendResumableUpload',
      summary: 'Append bytes at Upload-Offset (Content-Type: application/offset+octet-stream)',
      description:
        'The body is kept as far as it arrived, unless Upload-Checksum (sha256) was sent: then all of it or, on a mismatch, nothing (460). ' +
        'The PATCH that brings the last byte checks and stores the image like POST /api/v1/images and answers 204 with ' +
        'X-Image-Id and X-Image-Url, or the refusal (4xx problem+json; the upload and its bytes are gone).',
      headers: Type.Object({ ...TusHeaders, 'upload-offset': Type.String(), 'upload-checksum': Type.Optional(Type.String()) }),
      body: bytesOf('The next bytes of the file', ['application/offset+octet-stream']),
      response: { 204: Type.Null({ description: 'Upload-Offset is the new offset' }), ...problems(400, 404, 409, 410, 413, 415, 422, 460) },
    },
    terminate: {
      ...one,
      operationId: 'deleteResumableUpload',
      summary: 'End an upload and remove its bytes (tus termination)',
      response: { 204: Type.Null({ description: 'Ended' }), ...problems(404) },
    },
    hidden: { ...one, hide: true },
  };
}
