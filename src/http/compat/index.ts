// COMPAT: the registry of profiles, which listener each goes on, the collision check, and the extra listeners.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../../config.js';
import { ANONYMOUS } from '../../core/access/actor.js';
import type { HttpContext } from '../context.js';
import { baseHttp, type MainListenerExtras } from '../server.js';
import { earlyErrorWriter, errorHandler, notFoundHandler, type Style } from './answers.js';
import { attachments } from './attachments.js';
import { imgHandler } from './img-handler.js';
import { imgapi } from './imgapi.js';
import { mediaServer } from './media-server.js';
import { PROFILE_NAMES, type CompatProfile, type ProfileName, type ProfileRoute } from './profile.js';
import { s3Upload } from './s3-upload.js';

/** Every profile this build has; a name missing here refuses start-up when COMPAT names it. */
export const PROFILES: Partial<Record<ProfileName, CompatProfile>> = { img_handler: imgHandler, imgapi, attachments, media_server: mediaServer, s3_upload: s3Upload };

/** The seeds' own ports, for the suggestion in a collision message. */
const README_PORTS: Record<ProfileName, number> = { img_handler: 8764, imgapi: 8000, attachments: 8000, media_server: 8000, s3_upload: 5000 };

export interface ListenerPlan {
  /** undefined: the main listener (PORT). */
  readonly port: number | undefined;
  readonly profiles: readonly CompatProfile[];
}

/** `/images/:filename` → `/images/{}`: two routes of one shape collide whatever their parameters are called. */
const shape = (path: string): string => path.replace(/:[^/]+/g, '{}');
/** Routes named as COMPAT.md §1 names them where the two profiles' parameter names differ from its wording. */
const NAMED_AS_DOCUMENTED: Readonly<Record<string, string>> = { '/api/images/{}': '/api/images/{id}' };
/** `/images/:filename` → `/images/{filename}`, as operators read it. */
const shown = (path: string): string => NAMED_AS_DOCUMENTED[shape(path)] ?? path.replace(/:([^/]+)/g, '{$1}');

function collision(a: CompatProfile, b: CompatProfile): ProfileRoute | undefined {
  return a.routes.find((ra) => b.routes.some((rb) => rb.method === ra.method && shape(rb.path) === shape(ra.path)));
}

/**
 * Which profiles go on which listener, in COMPAT.md's order; refuses (ConfigError) a profile this build lacks
 * and two profiles whose routes collide on one listener. Runs before anything opens a port.
 */
export function planListeners(config: Config, registry: Partial<Record<ProfileName, CompatProfile>> = PROFILES): ListenerPlan[] {
  const byPort = new Map<number | undefined, CompatProfile[]>();
  const ordered = [...config.compat.profiles].sort((a, b) => PROFILE_NAMES.indexOf(a.name) - PROFILE_NAMES.indexOf(b.name));
  for (const setting of ordered) {
    const profile = registry[setting.name];
    if (!profile) throw new ConfigError(`COMPAT: the profile ${setting.name} is not available in this build`);
    const group = byPort.get(setting.port) ?? [];
    for (const other of group) {
      const route = collision(other, profile);
      if (!route) continue;
      const port = setting.port ?? config.port;
      const suggested = README_PORTS[profile.name] === port ? port + 1 : README_PORTS[profile.name];
      throw new CollisionError(
        `COMPAT: ${other.name} and ${profile.name} cannot share port ${port}: both serve ${route.method} ${shown(route.path)}; ` +
          `give one of them its own port, e.g. COMPAT=${other.name},${profile.name}:${suggested}`,
      );
    }
    group.push(profile);
    byPort.set(setting.port, group);
  }
  return [...byPort].map(([port, profiles]) => ({ port, profiles }));
}

/** Two profiles' routes collide on one listener (exit code 2, like any refused setting). */
export class CollisionError extends ConfigError {}

/** A listener carrying a Flask profile answers the Flask way, the others the FastAPI way (§2.3). */
const styleOf = (profiles: readonly CompatProfile[]): Style => (profiles.some((p) => p.style === 'flask') ? 'flask' : 'fastapi');

/**
 * Each profile in an encapsulated context of its own: its error style, credentials left to its routes, and no
 * native CORS (a profile answers CORS as its seed did, on the main listener as on its own).
 */
async function mountProfiles(app: FastifyInstance, ctx: HttpContext, profiles: readonly CompatProfile[]): Promise<void> {
  for (const profile of profiles) {
    await app.register(async (scope) => {
      scope.setErrorHandler(errorHandler(profile.style));
      scope.addHook('onRoute', (route) => {
        route.config = { ...route.config, ownCredentials: true, cors: false };
      });
      await profile.register(scope, ctx);
    });
  }
}

export interface CompatListener {
  readonly port: number;
  readonly profiles: readonly ProfileName[];
  readonly http: FastifyInstance;
}

export interface Compat {
  /** What the main listener mounts (its bare profiles and their not-found style); undefined without any. */
  readonly main: MainListenerExtras | undefined;
  readonly listeners: readonly CompatListener[];
  /** Opens every profile listener on HOST; if one cannot open, closes the others and throws. */
  listen(): Promise<void>;
  /** Closes the profile listeners at once (start-up failed; App.close drains them). */
  close(): Promise<void>;
}

/** Builds the profiles' listeners from a plan (planListeners): one Fastify instance per extra port, one HttpContext. */
export async function buildCompat(ctx: HttpContext, logger: Logger, plan: readonly ListenerPlan[]): Promise<Compat> {
  const mainPlan = plan.find((p) => p.port === undefined);
  const listeners: CompatListener[] = [];
  for (const { port, profiles } of plan) {
    if (port === undefined) continue;
    const style = styleOf(profiles);
    const http = await baseHttp(ctx, logger.child({ listener: port }), earlyErrorWriter(style));
    // Profiles resolve their own credentials; request.actor stays anonymous for the rate limits' client key.
    http.decorateRequest('actor' as never, null as never);
    http.addHook('onRequest', async (request) => {
      request.actor = ANONYMOUS;
    });
    http.setErrorHandler(errorHandler(style));
    http.setNotFoundHandler(notFoundHandler(style, profiles.flatMap((p) => p.routes)));
    await mountProfiles(http, ctx, profiles);
    listeners.push({ port, profiles: profiles.map((p) => p.name), http });
  }
  const mainProfiles = mainPlan?.profiles ?? [];
  return {
    main:
      mainProfiles.length === 0
        ? undefined
        : {
            mount: (app) => mountProfiles(app, ctx, mainProfiles),
            notFound: notFoundHandler(styleOf(mainProfiles), mainProfiles.flatMap((p) => p.routes)),
          },
    listeners,
    async listen() {
      const opened: CompatListener[] = [];
      try {
        for (const listener of listeners) {
          await listener.http.listen({ port: listener.port, host: ctx.config.host });
          opened.push(listener);
        }
      } catch (err) {
        await Promise.all(opened.map((l) => l.http.close()));
        // Fastify's error for a port it could not take, in the operator's words.
        const failed = listeners[opened.length]!;
        const code = (err as NodeJS.ErrnoException).code;
        throw new ConfigError(`COMPAT: cannot listen on ${ctx.config.host}:${failed.port} for ${failed.profiles.join(', ')}: ${code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message}`);
      }
    },
    async close() {
      await Promise.all(listeners.map((l) => l.http.close()));
    },
  };
}
