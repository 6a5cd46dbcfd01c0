// A compatibility profile: one seed service's documented HTTP API, translated onto imgd's core (../shared/COMPAT.md).
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';

export const PROFILE_NAMES = ['img_handler', 'imgapi', 'attachments', 'media_server', 's3_upload'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export type ProfileMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ProfileRoute {
  readonly method: ProfileMethod;
  /** Fastify path syntax (`/images/:filename`); shown to operators as `/images/{filename}`. */
  readonly path: string;
}

export interface CompatProfile {
  readonly name: ProfileName;
  /** How unknown paths, wrong methods and faults answer on a listener carrying this profile (COMPAT.md §2.3). */
  readonly style: 'fastapi' | 'flask';
  /** Every route it mounts: checked for collisions with the other profiles on the same listener before any port opens. */
  readonly routes: readonly ProfileRoute[];
  /** Mounts the routes, inside an encapsulated Fastify context of their own. */
  register(app: FastifyInstance, ctx: HttpContext): Promise<void>;
}
