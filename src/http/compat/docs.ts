// COMPAT: what the OpenAPI document says of a profile's routes. Each is an operation with an operationId prefixed by its
// profile, the seed's answers as application/json, and schemas for the document only: a profile reads and refuses its
// input itself, in its seed's words, so nothing here validates a request or serializes an answer (they are sent as bytes).
import { Type, type TSchema } from '@sinclair/typebox';
import { Binary, bytesOf } from '../openapi.js';
import type { CompatProfile, ProfileName } from './profile.js';

/** Route schemas that describe and never validate. */
const documentationOnly = () => () => true;

/** An object with the fields named, and whatever else the seed's answer holds. */
export const Fields = (fields: Record<string, TSchema>, description?: string) =>
  Type.Object(fields, { additionalProperties: true, ...(description !== undefined && { description }) });

/** An application/json answer (as the seeds sent it: no charset parameter). */
export const json = (description: string, schema: TSchema) => ({ description, content: { 'application/json': { schema } } });

/** A multipart/form-data body with one `file` part and the fields given. */
export const fileForm = (fields: Record<string, TSchema> = {}) => ({
  content: { 'multipart/form-data': { schema: Type.Object({ file: Binary('The image'), ...fields }) } },
});

/** The bytes of a stored image, as served (the detected format's media type). */
export const imageBytes = (description = 'The image bytes') => bytesOf(description, ['image/*']);

/** The seed's refusals: FastAPI's `{"detail": …}`, Flask's `{"error": …}`; application/json, never problem+json. */
const refusalOf = (style: CompatProfile['style']) =>
  style === 'flask'
    ? Fields({ error: Type.String() }, "The seed's refusal (Flask)")
    : Fields({ detail: Type.Unknown({ description: 'A message, or the list of validation issues (422)' }) }, "The seed's refusal (FastAPI)");

export interface CompatOperation {
  readonly summary: string;
  readonly body?: unknown;
  /** The success answers by status. */
  readonly answers: Readonly<Record<number, unknown>>;
  /** The statuses the seed refuses with. */
  readonly refusals?: readonly number[];
  /** `[]`: the route takes no credential. */
  readonly security?: ReadonlyArray<Readonly<Record<string, readonly string[]>>>;
}

/** `img_handler` → `imgHandler`: the prefix of the profile's operationIds. */
const prefixOf = (profile: ProfileName): string => profile.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The route options that document one of a profile's operations (`name` in PascalCase: `UploadImage`). */
export function compatDocs(profile: Pick<CompatProfile, 'name' | 'style'>, tag: string) {
  const refusal = refusalOf(profile.style);
  return (name: string, operation: CompatOperation) => ({
    validatorCompiler: documentationOnly,
    schema: {
      operationId: `${prefixOf(profile.name)}${name}`,
      summary: operation.summary,
      tags: [tag],
      ...(operation.security !== undefined && { security: operation.security }),
      ...(operation.body !== undefined && { body: operation.body }),
      response: {
        ...operation.answers,
        ...Object.fromEntries((operation.refusals ?? []).map((status) => [status, json("The seed's refusal", refusal)])),
      },
    },
  });
}

/**
 * GET and HEAD as two operations of the document, each with its own operationId (`GetImage`, `HeadImage`): a route
 * whose methods are a list would be one operation under both.
 */
export const READ_METHODS = [
  ['GET', 'Get'],
  ['HEAD', 'Head'],
] as const;
