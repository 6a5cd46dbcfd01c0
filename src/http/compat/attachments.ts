// COMPAT profile attachments (seed 002): per-user image attachments behind registration, OAuth2 password login and JWTs.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasScope, isAdmin } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import { statusOf } from '../error-codes.js';
import type { Actor } from '../../core/access/actor.js';
import type { User } from '../../core/accounts/user.js';
import type { ImageRecord } from '../../core/images/image.js';
import { originalKey } from '../../core/storage/blob-keys.js';
import type { HttpContext } from '../context.js';
import { perAddressAndAccount, perAddressOnSuccess, rateLimited } from '../rate-limits.js';
import { sendOriginal } from '../routes/serve.js';
import { missing, sendDetail, sendJson, sendValidation, stringFields } from './answers.js';
import { bearerCaller, INVALID_CREDENTIALS, unauthorized } from './attachments-auth.js';
import { registerAttachmentsDocs } from './attachments-docs.js';
import { readForm } from './form.js';
import { isoSeconds, limitInMiB, profileLimit } from './formats.js';
import { attachmentsOperations } from './operations.js';
import type { CompatProfile } from './profile.js';
import { attachmentDisposition, lastDotSuffix } from './python-names.js';
import { uploadOne } from './upload-one.js';

const IMAGE_NOT_FOUND = 'Image not found';

/** The seed's default ALLOWED_EXTENSIONS. */
export const DEFAULT_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'gif', 'webp'];

/** An image the caller may see here: their own (read scope), or any for an admin; never someone else's public one. */
const mine = (actor: Actor, image: ImageRecord): boolean =>
  isAdmin(actor) || (actor.kind === 'user' && image.ownerId === actor.user.id && hasScope(actor, 'read'));

export const attachments: CompatProfile = {
  name: 'attachments',
  style: 'fastapi',
  routes: [
    { method: 'POST', path: '/register' },
    { method: 'POST', path: '/token' },
    { method: 'GET', path: '/users/me' },
    { method: 'POST', path: '/upload' },
    { method: 'GET', path: '/images' },
    { method: 'GET', path: '/images/:image_id' },
    { method: 'DELETE', path: '/images/:image_id' },
    { method: 'GET', path: '/download/:filename' },
  ],
  async register(app, ctx: HttpContext) {
    const { config, accounts } = ctx;
    const limits = config.rateLimits;
    const extensions = config.compat.allowedExtensions ?? DEFAULT_EXTENSIONS;

    await registerAttachmentsDocs(app);
    const docs = attachmentsOperations();
    const caller = bearerCaller(ctx);

    // Bodies are read by the routes themselves, so that a bad one gets FastAPI's 422 rather than a parser's 400.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    const userView = async (user: User) => {
      const facts = await ctx.profileRecords.userFacts(user.id);
      return {
        username: user.username,
        email: user.email,
        id: facts?.number ?? 0,
        created_at: isoSeconds(user.createdAt),
        updated_at: facts?.updatedAt === undefined ? null : isoSeconds(facts.updatedAt),
      };
    };

    const attachmentViews = async (images: readonly ImageRecord[]) => {
      const numbers = await ctx.profileRecords.imageNumbers(images.map((image) => image.id));
      return images.map((image) => ({
        id: numbers.get(image.id) ?? 0,
        filename: image.filename,
        original_filename: image.originalName ?? image.filename,
        file_size: image.bytes,
        mime_type: image.contentType,
        description: image.description,
        uploaded_at: isoSeconds(image.createdAt),
        download_url: `/images/${image.filename}`,
      }));
    };

    /** The caller's image by this number, or undefined (absent, or someone else's). */
    const imageByNumber = async (actor: Actor, number: number): Promise<ImageRecord | undefined> => {
      const id = Number.isSafeInteger(number) ? await ctx.profileRecords.imageByNumber(number) : undefined;
      const image = id === undefined ? undefined : await ctx.catalog.getImage(id);
      return image && mine(actor, image) ? image : undefined;
    };

    const imageByFilename = async (actor: Actor, filename: string): Promise<ImageRecord | undefined> => {
      const image = await ctx.catalog.getImageByFilename(filename);
      return image && mine(actor, image) ? image : undefined;
    };

    /** The stored bytes through imgd's normal serving; a row whose bytes are gone is the seed's 404. */
    const serveFile = async (request: FastifyRequest, reply: FastifyReply, image: ImageRecord, download: boolean): Promise<FastifyReply> => {
      if (!(await ctx.store.exists(originalKey(image.sha256)))) return sendDetail(reply, 404, 'Image file not found on server');
      if (download) reply.header('content-disposition', attachmentDisposition(image.originalName ?? image.filename));
      return sendOriginal(ctx, request, reply, image);
    };

    // The accounts created count, as natively: a refused registration costs nothing (COMPAT.md §2.8).
    const registerLimit = perAddressOnSuccess(app, 'register', limits.register, limits.windowSeconds);
    const loginLimit = perAddressAndAccount(app, 'login', limits.login, limits.windowSeconds, (request) => {
      const username = (request.body as { username?: unknown } | undefined)?.username;
      return typeof username === 'string' ? username.trim().toLowerCase() : undefined;
    });

    app.post(
      '/register',
      {
        ...docs.register,
        preValidation: async (request) => {
          try {
            request.body = typeof request.body === 'string' ? (JSON.parse(request.body) as unknown) : undefined;
          } catch {
            request.body = { invalid_json: true };
          }
        },
        ...(registerLimit && { preHandler: registerLimit.check }),
      },
      async (request, reply) => {
        const body = request.body as Record<string, unknown> | undefined;
        if (body && (body as { invalid_json?: boolean }).invalid_json === true) {
          return sendValidation(reply, [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }]);
        }
        const { values, issues } = stringFields(body, ['username', 'email', 'password']);
        if (issues.length > 0) return sendValidation(reply, issues);
        if (config.auth.registration === 'closed') return sendDetail(reply, 403, 'Registration is closed');
        if (await accounts.userByName(values.username!)) return sendDetail(reply, 400, 'Username already registered');
        try {
          const user = await accounts.register({ username: values.username!, email: values.email!, password: values.password! }, request.ip);
          await registerLimit?.count(request);
          return sendJson(reply, 200, await userView(user));
        } catch (err) {
          if (!(err instanceof ImgdError)) throw err;
          if (err.code === 'validation_failed') {
            const field = typeof err.extra.field === 'string' ? err.extra.field : 'body';
            return sendValidation(reply, [{ type: 'value_error', loc: ['body', field], msg: `Value error, ${err.message}`, input: values[field] ?? null }]);
          }
          if (err.code === 'conflict') return sendDetail(reply, 400, err.extra.field === 'username' ? 'Username already registered' : 'Email already registered');
          if (err.code === 'forbidden') return sendDetail(reply, 403, config.auth.registration === 'invite' ? err.message : 'Registration is closed');
          throw err;
        }
      },
    );

    app.post(
      '/token',
      {
        ...docs.token,
        preValidation: async (request) => {
          if (request.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) {
            const form = await readForm(request, '\0no file\0', 0, async (file) => {
              file.stream.resume();
            });
            request.body = form.fields;
          }
        },
        ...(loginLimit && { preHandler: loginLimit }),
      },
      async (request, reply) => {
        const { values, issues } = stringFields(request.body, ['username', 'password'], ['grant_type']);
        if (values.grant_type !== undefined && values.grant_type !== 'password') {
          issues.push({ type: 'string_pattern_mismatch', loc: ['body', 'grant_type'], msg: "String should match pattern '^password$'", input: values.grant_type });
        }
        if (issues.length > 0) return sendValidation(reply, issues);
        let user: Awaited<ReturnType<typeof accounts.login>>;
        try {
          user = await accounts.login(values.username!, values.password!, request.ip);
        } catch (err) {
          if (err instanceof ImgdError && err.code === 'unauthorized') return unauthorized(reply, 'Incorrect username or password');
          throw err;
        }
        const { token } = await ctx.sessions.sign({ userId: user.id, generation: user.sessionGeneration });
        return sendJson(reply, 200, { access_token: token, token_type: 'bearer' });
      },
    );

    app.get('/users/me', docs.me, async (request, reply) => {
      const actor = await caller(request, reply);
      if (!actor) return reply;
      if (actor.kind !== 'user') return unauthorized(reply, INVALID_CREDENTIALS);
      return sendJson(reply, 200, await userView(actor.user));
    });

    app.post('/upload', { ...docs.upload, config: rateLimited(limits.upload, limits.windowSeconds) }, async (request, reply) => {
      const actor = await caller(request, reply);
      // The body stays unread: answered before it ended, the connection closes (unread-body.ts).
      if (!actor) return reply;
      const outcome = await uploadOne(
        ctx.uploads,
        request,
        {
          actor,
          ip: request.ip,
          defaults: { visibility: 'private' },
          // The seed's description is the form field as sent: "" stays "" (COMPAT.md §5).
          verbatimDescription: true,
          maxBytes: profileLimit(config),
          name: (file) => `${randomUUID()}.${lastDotSuffix(file.originalName ?? '')}`,
        },
        {
          recordMissing: true,
          part(file) {
            if (!file.filename) return new ImgdError('missing_file', 'No filename provided');
            if (!extensions.includes(lastDotSuffix(file.filename))) {
              return new ImgdError('unsupported_format', `File type not allowed. Allowed types: ${extensions.join(', ')}`);
            }
            return undefined;
          },
        },
        (fields): Record<string, string> => (fields.description === undefined ? {} : { description: fields.description }),
      );
      if (outcome.kind === 'no_file') return sendValidation(reply, [missing('body', 'file')]);
      if (outcome.kind === 'refused') {
        const { error } = outcome;
        if (error.code === 'missing_file' || (error.code === 'unsupported_format' && error.message.startsWith('File type not allowed'))) {
          return sendDetail(reply, 400, error.message);
        }
        if (error.code === 'file_too_large') return sendDetail(reply, 400, `File too large. Maximum size: ${limitInMiB(config)}MB`);
        const status = statusOf(error.code);
        if (status === 401 || status === 403 || status === 429 || status >= 500) throw error;
        return sendDetail(reply, 400, `Invalid image file: ${error.message}`);
      }
      const [view] = await attachmentViews([outcome.image]);
      return sendJson(reply, 200, view);
    });

    app.get('/images', docs.list, async (request, reply) => {
      const actor = await caller(request, reply);
      if (!actor) return reply;
      const images: ImageRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.images.list(actor, {}, 500, cursor);
        images.push(...page.items.filter((image) => mine(actor, image)));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      const views = await attachmentViews(images);
      return sendJson(reply, 200, views.sort((a, b) => a.id - b.id));
    });

    app.get<{ Params: { image_id: string } }>('/images/:image_id', docs.get, async (request, reply) => {
      const actor = await caller(request, reply);
      if (!actor) return reply;
      const ref = request.params.image_id;
      if (/^\d+$/.test(ref)) {
        const image = await imageByNumber(actor, Number(ref));
        if (!image) return sendDetail(reply, 404, IMAGE_NOT_FOUND);
        const [view] = await attachmentViews([image]);
        return sendJson(reply, 200, view);
      }
      const image = await imageByFilename(actor, ref);
      if (!image) return sendDetail(reply, 404, IMAGE_NOT_FOUND);
      return serveFile(request, reply, image, false);
    });

    app.delete<{ Params: { image_id: string } }>('/images/:image_id', docs.remove, async (request, reply) => {
      const actor = await caller(request, reply);
      if (!actor) return reply;
      const ref = request.params.image_id;
      if (!/^-?\d+$/.test(ref.trim())) {
        return sendValidation(reply, [{ type: 'int_parsing', loc: ['path', 'image_id'], msg: 'Input should be a valid integer, unable to parse string as an integer', input: ref }]);
      }
      const image = await imageByNumber(actor, Number(ref.trim()));
      if (!image) return sendDetail(reply, 404, IMAGE_NOT_FOUND);
      try {
        await ctx.images.remove(actor, image.id);
      } catch (err) {
        if (err instanceof ImgdError && err.code === 'not_found') return sendDetail(reply, 404, IMAGE_NOT_FOUND);
        throw err;
      }
      return sendJson(reply, 200, { message: 'Image deleted successfully' });
    });

    app.get<{ Params: { filename: string } }>('/download/:filename', docs.download, async (request, reply) => {
      const actor = await caller(request, reply);
      if (!actor) return reply;
      const image = await imageByFilename(actor, request.params.filename);
      if (!image) return sendDetail(reply, 404, IMAGE_NOT_FOUND);
      return serveFile(request, reply, image, true);
    });
  },
};
