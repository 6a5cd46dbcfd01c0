// COMPAT: each profile's operations as the OpenAPI document states them (operationId, body, answers), one function a
// profile, called in its register() so that every app gets fresh schema objects (Fastify marks the ones it is given).
import { Type } from '@sinclair/typebox';
import { compatDocs, Fields, fileForm, imageBytes, json } from './docs.js';

const Str = () => Type.String();
const NullableStr = () => Type.Union([Type.String(), Type.Null()]);

/** Seed 000: the answers of img_handler's routes; `Legacy` names the `/upload-image` and `/image/…` twins. */
export function imgHandlerOperations() {
  const doc = compatDocs({ name: 'img_handler', style: 'fastapi' }, 'img_handler (compat)');
  const upload = (name: string, served: string) =>
    doc(name, {
      summary: `Upload one image (multipart \`file\`); it is then served at ${served}/{stored_as}`,
      body: fileForm(),
      answers: { 200: json('Stored', Fields({ stored_as: Str(), bytes: Type.Integer(), image_url: Str() })) },
      refusals: [400, 401, 413, 415, 422, 429],
    });
  const read = (name: string) => doc(name, { summary: 'An image by the name it was stored as', answers: { 200: imageBytes() }, refusals: [400, 401, 404] });
  return {
    upload: upload('UploadImage', '/images'),
    uploadLegacy: upload('UploadImageLegacy', '/image'),
    read: { Image: { Get: read('GetImage'), Head: read('HeadImage') }, ImageLegacy: { Get: read('GetImageLegacy'), Head: read('HeadImageLegacy') } },
  };
}

/** Seed 001: imgapi's answers; a refused upload is a 200 with `status: "failed"`, as the seed answered it. */
export function imgapiOperations() {
  const doc = compatDocs({ name: 'imgapi', style: 'fastapi' }, 'imgapi (compat)');
  const Item = Fields(
    { status: Type.Union([Type.Literal('success'), Type.Literal('failed')]), data: Fields({ image_id: Str(), original_name: Str(), processed_at: Str() }), error: NullableStr() },
    'An upload: its data, metadata and thumbnail URLs, or why it failed',
  );
  return {
    upload: doc('UploadImage', { summary: 'Upload an image (multipart `file`)', security: [], body: fileForm(), answers: { 200: json('The upload, or why it failed', Item) }, refusals: [413, 422, 429] }),
    list: doc('ListImages', { summary: 'Every upload, newest first', security: [], answers: { 200: json('The uploads', Type.Array(Item)) } }),
    get: doc('GetImage', { summary: 'An upload by id, with its EXIF and caption', security: [], answers: { 200: json('The upload', Item) }, refusals: [404] }),
    thumbnail: doc('GetThumbnail', {
      summary: 'A thumbnail (small, medium, large) of an upload, as JPEG',
      security: [],
      answers: { 200: { description: 'The thumbnail', content: { 'image/jpeg': { schema: Type.String({ format: 'binary' }) } } } },
      refusals: [400, 404],
    }),
    stats: doc('GetStats', {
      summary: 'Upload counts, success rate and average processing time, all time',
      security: [],
      answers: { 200: json('The figures', Fields({ total: Type.Integer(), failed: Type.Integer(), success_rate: Str(), average_processing_time_seconds: Type.Number() })) },
    }),
  };
}

/** Seed 002: attachments' answers (its own /openapi.json on its own port; imgd's on the main listener). */
export function attachmentsOperations() {
  const doc = compatDocs({ name: 'attachments', style: 'fastapi' }, 'attachments (seed 002)');
  const User = Fields({ username: Str(), email: Str(), id: Type.Integer(), created_at: Str(), updated_at: NullableStr() }, 'A user');
  const Attachment = Fields(
    { id: Type.Integer(), filename: Str(), original_filename: Str(), file_size: Type.Integer(), mime_type: Str(), description: NullableStr(), uploaded_at: Str(), download_url: Str() },
    'An image attachment',
  );
  const Login = Type.Object({ username: Str(), password: Str(), grant_type: Type.Optional(Type.Literal('password')) });
  return {
    register: doc('Register', {
      summary: 'Register a user (JSON username, email, password)',
      security: [],
      body: json('The new account', Type.Object({ username: Str(), email: Str(), password: Str() })),
      answers: { 200: json('The user', User) },
      refusals: [400, 403, 422, 429],
    }),
    token: doc('Token', {
      summary: 'Sign in (OAuth2 password form): a bearer JWT',
      security: [],
      body: { content: { 'application/x-www-form-urlencoded': { schema: Login }, 'multipart/form-data': { schema: Login } } },
      answers: { 200: json('The bearer token', Type.Object({ access_token: Str(), token_type: Type.Literal('bearer') })) },
      refusals: [401, 422, 429],
    }),
    me: doc('GetMe', { summary: 'The signed-in user', answers: { 200: json('The user', User) }, refusals: [401] }),
    upload: doc('Upload', {
      summary: 'Upload an image (multipart file, optional description)',
      body: fileForm({ description: Type.Optional(Str()) }),
      answers: { 200: json('The attachment', Attachment) },
      refusals: [400, 401, 422, 429],
    }),
    list: doc('ListImages', { summary: "The caller's images", answers: { 200: json('The attachments', Type.Array(Attachment)) }, refusals: [401] }),
    get: doc('GetImage', {
      summary: 'An image by integer id (its details), or by filename (its bytes, inline)',
      answers: { 200: { description: 'The details (by id) or the bytes (by filename)', content: { ...json('', Attachment).content, ...imageBytes().content } } },
      refusals: [401, 404],
    }),
    remove: doc('DeleteImage', { summary: 'Delete an image by integer id', answers: { 200: json('Deleted', Type.Object({ message: Str() })) }, refusals: [401, 404] }),
    download: doc('Download', { summary: 'Download an image by filename', answers: { 200: imageBytes('The bytes, as an attachment') }, refusals: [401, 404] }),
  };
}

/** Seed 003: media_server's answers; uploads and deletions carry an HMAC token (`?token=`). */
export function mediaServerOperations() {
  const doc = compatDocs({ name: 'media_server', style: 'fastapi' }, 'media_server (compat)');
  const read = (verb: string) => doc(`${verb}Media`, { summary: 'A public image by file name', security: [], answers: { 200: imageBytes() }, refusals: [400, 404] });
  return {
    root: doc('GetStatus', { summary: 'The service is up', security: [], answers: { 200: json('Up', Type.Object({ status: Str(), service: Str() })) } }),
    upload: doc('UploadMedia', {
      summary: 'Upload an image (multipart `file`) with an upload token (`?token=`)',
      security: [],
      body: fileForm(),
      answers: { 200: json('Stored', Type.Object({ url: Str(), filename: Str() })) },
      refusals: [400, 401, 422, 429],
    }),
    list: doc('ListMedia', {
      summary: 'The public images',
      security: [],
      answers: { 200: json('The images', Type.Object({ count: Type.Integer(), images: Type.Array(Type.Object({ filename: Str(), url: Str() })) })) },
    }),
    read: { Get: read('Get'), Head: read('Head') },
    remove: doc('DeleteMedia', { summary: 'Delete an image by file name, with a token (`?token=`)', security: [], answers: { 200: json('Deleted', Type.Object({ detail: Str() })) }, refusals: [400, 401, 404, 422] }),
  };
}

/** Seed 004: s3_upload's answers, keyed by the caller's image id (Flask style). */
export function s3UploadOperations() {
  const doc = compatDocs({ name: 's3_upload', style: 'flask' }, 's3_upload (compat)');
  const Record = Fields({ image_id: Str(), s3_url: Str(), original_filename: Str(), file_size: Type.Integer(), content_type: Str(), uploaded_at: Str() }, 'An upload under the id');
  return {
    health: doc('GetHealth', {
      summary: 'Health, with the environment and storage kind',
      security: [],
      answers: { 200: json('Healthy', Fields({ status: Str(), timestamp: Str(), environment: Str(), storage: Str() })) },
      refusals: [503],
    }),
    page: doc('GetUploadPage', {
      summary: 'The upload page for an image id',
      security: [],
      answers: { 200: { description: 'An HTML page', content: { 'text/html': { schema: Str() } } } },
      refusals: [400],
    }),
    upload: doc('UploadImage', {
      summary: 'Upload an image (multipart `file`) under an image id',
      security: [],
      body: fileForm(),
      answers: { 201: json('Stored', Fields({ success: Type.Boolean(), message: Str(), image_id: Str(), s3_url: Str(), image_url: Str(), uploaded_at: Str() })) },
      refusals: [400, 413, 429, 500],
    }),
    url: doc('GetImageUrl', { summary: 'The newest upload under an id', security: [], answers: { 200: json('The upload', Fields({ success: Type.Boolean() })) }, refusals: [400, 404] }),
    list: doc('ListImages', {
      summary: 'Every upload under an id, newest first',
      security: [],
      answers: { 200: json('The uploads', Fields({ success: Type.Boolean(), count: Type.Integer(), images: Type.Array(Record) })) },
      refusals: [400, 404],
    }),
  };
}
