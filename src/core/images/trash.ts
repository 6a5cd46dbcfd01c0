// The trash: a deleted image waits here TRASH_DAYS, served nowhere, until it is restored or purged.
import { listScope, mayManage, requireScope } from '../access/policy.js';
import type { Catalog } from './catalog.js';
import { ImgdError } from '../errors.js';
import type { ImageLifecycle } from './image-lifecycle.js';
import type { Images } from './images.js';
import type { Actor } from '../access/actor.js';
import type { ImageRecord, Page } from './image.js';

export interface Trash {
  /** How long an image stays in the trash; 0: a delete is for good at once. */
  readonly days: number;
  /** Deletes an image: into the trash (or for good with TRASH_DAYS=0). Answers whether it went for good. */
  moveToTrash(actor: Actor, id: string): Promise<{ readonly purged: boolean }>;
  restore(actor: Actor, id: string): Promise<ImageRecord>;
  /** Purges one image that is in the trash. */
  purge(actor: Actor, id: string): Promise<void>;
  list(actor: Actor, owner: string | undefined, limit: number, cursor: string | undefined): Promise<Page<ImageRecord>>;
  /** Purges everything in the trash the actor's listing shows (its own; all, or one owner's, for admins); answers how many. */
  empty(actor: Actor, owner: string | undefined): Promise<number>;
  /** Purges what has been in the trash longer than TRASH_DAYS (the periodic job); answers how many. */
  purgeExpired(now?: number): Promise<number>;
  /** When an image in the trash will be purged. */
  purgeAt(image: ImageRecord): string | null;
}

const BATCH = 200;
const DAY_MS = 86_400_000;
const notInTrash = (id: string): ImgdError => new ImgdError('not_found', `No image ${JSON.stringify(id)} in the trash.`);

export function createTrash(catalog: Catalog, images: Images, lifecycle: ImageLifecycle, days: number): Trash {
  /** Someone else's trash is as absent as an image that was never there. */
  async function trashed(actor: Actor, id: string): Promise<ImageRecord> {
    requireScope(actor, 'delete');
    const image = await catalog.getTrashedImage(id);
    if (!image || !mayManage(actor, image, 'delete')) throw notInTrash(id);
    return image;
  }

  async function purgeAll(nextIds: () => Promise<string[]>): Promise<number> {
    let purged = 0;
    for (;;) {
      const ids = await nextIds();
      if (ids.length === 0) return purged;
      for (const id of ids) if (await lifecycle.purge(id)) purged += 1;
    }
  }

  return {
    days,

    async moveToTrash(actor, id) {
      await images.deletable(actor, id);
      if (days === 0) {
        if (!(await lifecycle.purge(id))) throw new ImgdError('not_found', `No image ${JSON.stringify(id)}.`);
        return { purged: true };
      }
      if (!(await lifecycle.trash(id))) throw new ImgdError('not_found', `No image ${JSON.stringify(id)}.`);
      return { purged: false };
    },

    async restore(actor, id) {
      await trashed(actor, id);
      const image = await lifecycle.restore(id);
      if (!image) throw notInTrash(id);
      return image;
    },

    async purge(actor, id) {
      await trashed(actor, id);
      if (!(await lifecycle.purge(id))) throw notInTrash(id);
    },

    async list(actor, owner, limit, cursor) {
      return catalog.listTrash(listScope(actor, owner), limit, cursor);
    },

    async empty(actor, owner) {
      requireScope(actor, 'delete');
      const scope = listScope(actor, owner);
      return purgeAll(async () => (await catalog.listTrash(scope, BATCH, undefined)).items.map((i) => i.id));
    },

    async purgeExpired(now = Date.now()) {
      const before = new Date(now - days * DAY_MS).toISOString();
      return purgeAll(() => catalog.expiredTrash(before, BATCH));
    },

    purgeAt(image) {
      return image.trashedAt === null ? null : new Date(Date.parse(image.trashedAt) + days * DAY_MS).toISOString();
    },
  };
}
