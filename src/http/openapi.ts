// The OpenAPI document's shared parts: the Problem schema with its enum of codes, error responses as
// application/problem+json, binary bodies, and the document's own settings.
import type { SwaggerOptions } from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { ErrorCode } from '../core/errors.js';
import { ERROR_CODES, statusOf } from './error-codes.js';

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: '`urn:imgd:problem:<code>`' }),
    title: Type.String({ description: 'The code in words' }),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong, in one line' }),
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES], description: 'Stable error code (the README lists them)' }),
    instance: Type.String({ description: 'The request path; empty when the request line could not be read' }),
    request_id: Type.String(),
  },
  {
    $id: 'Problem',
    additionalProperties: true,
    description: 'An error (RFC 9457); some codes add fields, e.g. `limit`, `errors`, `retry_after`',
    examples: [
      {
        type: 'urn:imgd:problem:unsupported_format',
        title: 'Unsupported format',
        status: 415,
        detail: 'The file is not an image in a format this server accepts.',
        code: 'unsupported_format',
        instance: '/api/v1/images',
        request_id: '5c0a7c6e-4f1e-4c55-9d43-0f3a1c7f9b21',
      },
    ],
  },
);

const ProblemRef = Type.Ref('Problem');

/** The error answers of an operation by status, each problem+json, described by the codes that answer with it. */
export function problems(...statuses: number[]): Record<number, { description: string; content: Record<string, { schema: typeof ProblemRef }> }> {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = ERROR_CODES.filter((code) => statusOf(code) === status);
      if (codes.length === 0) throw new Error(`no error code answers ${status}`);
      return [status, { description: `Problem: ${codes.join(', ')}`, content: { [PROBLEM_MEDIA_TYPE]: { schema: ProblemRef } } }];
    }),
  );
}

export const Binary = (description?: string) => Type.String({ format: 'binary', ...(description !== undefined && { description }) });

/** A body or answer of raw bytes, under each of the media types given. */
export function bytesOf(description: string, mediaTypes: readonly string[]) {
  return { description, content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: Binary() }])) };
}

export const documentOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: { title: 'imgd', description: 'Self-hosted image service', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  },
  refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
};
