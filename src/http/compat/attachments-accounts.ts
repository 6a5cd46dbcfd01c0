// COMPAT profile attachments (seed 002), its accounts: registration, OAuth2 password sign-in, /users/me, and who calls every other route.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../../core/errors.js';
import type { Actor } from '../../core/access/actor.js';
import type { User } from '../../core/accounts/user.js';
import type { HttpContext } from '../context.js';
import { statusOf } from '../error-codes.js';
import { perAddressAndAccount, perAddressOnSuccess } from '../rate-limits.js';
import { missing, sendDetail, sendJson, sendValidation, type ValidationIssue } from './answers.js';
import { readForm } from './form.js';
import { isoSeconds } from './formats.js';

const NOT_AUTHENTICATED = 'Not authenticated';
const INVALID_CREDENTIALS = 'Could not validate credentials';

/** A 401 the way FastAPI's OAuth2PasswordBearer and the seed answered it. */
const unauthorized = (reply: FastifyReply, message: string): FastifyReply => {
  reply.header('www-authenticate', 'Bearer');
  return sendDetail(reply, 401, message);
};

/** pydantic's issue for a field that is there but not a string. */
const notString = (field: string, input: unknown): ValidationIssue => ({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input });

/** The string fields of a body, or the 422 issues that refuse it. */
function stringFields(body: unknown, names: readonly string[], optional: readonly string[] = []): { values: Record<string, string>; issues: ValidationIssue[] } {
  const source = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const values: Record<string, string> = {};
  const issues: ValidationIssue[] = [];
  for (const name of [...names, ...optional]) {
    const value = source[name];
    if (value === undefined || value === null) {
      if (names.includes(name)) issues.push(missing('body', name));
    } else if (typeof value !== 'string') issues.push(notString(name, value));
    else values[name] = value;
  }
  return { values, issues };
}

/** A user as the seed showed one: its number, and times to the second. */
function userViews(ctx: HttpContext) {
  return async (user: User) => {
    const facts = await ctx.profileRecords.userFacts(user.id);
    return {
      username: user.username,
      email: user.email,
      id: facts?.number ?? 0,
      created_at: isoSeconds(user.createdAt),
      updated_at: facts?.updatedAt === undefined ? null : isoSeconds(facts.updatedAt),
    };
  };
}

/** The caller, from `Authorization: Bearer <JWT>` (or an imgd API key, or the admin token); undefined once answered 401. */
export function attachmentsCaller(ctx: HttpContext): (request: FastifyRequest, reply: FastifyReply) => Promise<Actor | undefined> {
  return async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = space === -1 ? header : header.slice(0, space);
    if (header === '' || scheme.toLowerCase() !== 'bearer') {
      unauthorized(reply, NOT_AUTHENTICATED);
      return undefined;
    }
    const token = header.slice(space + 1).trim();
    try {
      const actor = token === '' ? undefined : await ctx.resolveCredential(token);
      if (actor && (actor.kind === 'user' || actor.kind === 'admin')) {
        request.actor = actor;
        return actor;
      }
    } catch (err) {
      if (!(err instanceof ImgdError) || statusOf(err.code) >= 500) throw err;
    }
    unauthorized(reply, INVALID_CREDENTIALS);
    return undefined;
  };
}

/** What the profile's OpenAPI document says of a route. */
export interface RouteDoc {
  readonly schema: { readonly summary: string; readonly tags: string[] };
}

/** The account routes, registered where the profile's document lists them (before /upload). */
export function registerAttachmentsAccounts(app: FastifyInstance, ctx: HttpContext, doc: (summary: string) => RouteDoc): void {
  const { config, accounts } = ctx;
  const limits = config.rateLimits;
  const userView = userViews(ctx);
  const caller = attachmentsCaller(ctx);

  // The accounts created count, as natively: a refused registration costs nothing (COMPAT.md §2.8).
  const registerLimit = perAddressOnSuccess(app, 'register', limits.register, limits.windowSeconds);
  const loginLimit = perAddressAndAccount(app, 'login', limits.login, limits.windowSeconds, (request) => {
    const username = (request.body as { username?: unknown } | undefined)?.username;
    return typeof username === 'string' ? username.trim().toLowerCase() : undefined;
  });

  app.post(
    '/register',
    {
      ...doc('Register a user (JSON username, email, password)'),
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
      ...doc('Sign in (OAuth2 password form): a bearer JWT'),
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

  app.get('/users/me', doc('The signed-in user'), async (request, reply) => {
    const actor = await caller(request, reply);
    if (!actor) return reply;
    if (actor.kind !== 'user') return unauthorized(reply, INVALID_CREDENTIALS);
    return sendJson(reply, 200, await userView(actor.user));
  });
}
