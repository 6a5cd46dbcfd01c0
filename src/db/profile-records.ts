// What the compatibility profiles read beside the catalog: integer numbers of images and users, attempts by id, and
// which attempts came through which profile. Reads of the core's own rows, never copies of them.
import type { Db } from './database.js';

export interface ProfileAttempt {
  readonly id: string;
  readonly originalName: string | null;
  readonly outcome: 'success' | 'failed';
  readonly code: string | null;
  readonly reason: string | null;
  readonly createdAt: string;
}

export interface ProfileRecords {
  /** The numbers of these images (those that have one). */
  imageNumbers(ids: readonly string[]): Promise<Map<string, number>>;
  /** The image that has this number, if it still exists. */
  imageByNumber(number: number): Promise<string | undefined>;
  /** A user's number, and when the account last changed (undefined: never since it was created). */
  userFacts(id: string): Promise<{ number: number; updatedAt: string | undefined } | undefined>;
  /** Marks attempts (ids in `attempts`) as made through a profile. */
  markAttempts(profile: string, ids: readonly string[]): Promise<void>;
  /** One attempt made through a profile. */
  attempt(profile: string, id: string): Promise<ProfileAttempt | undefined>;
  /** The failed attempts made through a profile, newest first. */
  failedAttempts(profile: string): Promise<ProfileAttempt[]>;
  /** Whether an image was uploaded with this credential (`describeActor`'s words), as its upload's audit entry says. */
  uploadedBy(imageId: string, actor: string): Promise<boolean>;
  /** When these bytes were first stored (their blob rows' creation), by sha256. */
  firstStored(sha256s: readonly string[]): Promise<Map<string, string>>;
}

const CHUNK = 500;

export function createProfileRecords(db: Db): ProfileRecords {
  const attemptColumns = ['attempts.id', 'attempts.original_name', 'attempts.outcome', 'attempts.code', 'attempts.reason', 'attempts.created_at'] as const;
  const toAttempt = (row: { id: string; original_name: string | null; outcome: string; code: string | null; reason: string | null; created_at: string }): ProfileAttempt => ({
    id: row.id,
    originalName: row.original_name,
    outcome: row.outcome === 'success' ? 'success' : 'failed',
    code: row.code,
    reason: row.reason,
    createdAt: row.created_at,
  });

  return {
    async uploadedBy(imageId, actor) {
      const row = await db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'image.upload')
        .where('target', '=', imageId)
        .where('actor', '=', actor)
        .executeTakeFirst();
      return row !== undefined;
    },

    async imageNumbers(ids) {
      const found = new Map<string, number>();
      if (ids.length === 0) return found;
      for (let at = 0; at < ids.length; at += CHUNK) {
        const rows = await db.selectFrom('image_numbers').select(['image_id', 'number']).where('image_id', 'in', ids.slice(at, at + CHUNK)).execute();
        for (const row of rows) found.set(row.image_id, Number(row.number));
      }
      return found;
    },

    async imageByNumber(number) {
      const row = await db
        .selectFrom('image_numbers')
        .innerJoin('images', 'images.id', 'image_numbers.image_id')
        .select('images.id')
        .where('image_numbers.number', '=', number)
        .where('images.trashed_at', 'is', null)
        .executeTakeFirst();
      return row?.id;
    },

    async userFacts(id) {
      const row = await db
        .selectFrom('user_numbers')
        .innerJoin('users', 'users.id', 'user_numbers.user_id')
        .select(['user_numbers.number', 'users.created_at', 'users.updated_at'])
        .where('user_numbers.user_id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      return { number: Number(row.number), updatedAt: row.updated_at === row.created_at ? undefined : row.updated_at };
    },

    async markAttempts(profile, ids) {
      if (ids.length === 0) return;
      const createdAt = new Date().toISOString();
      await db.insertInto('profile_attempts').values(ids.map((id) => ({ id, profile, created_at: createdAt }))).execute();
    },

    async attempt(profile, id) {
      const row = await db
        .selectFrom('profile_attempts')
        .innerJoin('attempts', 'attempts.id', 'profile_attempts.id')
        .select(attemptColumns)
        .where('profile_attempts.id', '=', id)
        .where('profile_attempts.profile', '=', profile)
        .executeTakeFirst();
      return row && toAttempt(row);
    },

    async failedAttempts(profile) {
      const rows = await db
        .selectFrom('profile_attempts')
        .innerJoin('attempts', 'attempts.id', 'profile_attempts.id')
        .select(attemptColumns)
        .where('profile_attempts.profile', '=', profile)
        .where('attempts.outcome', '=', 'failed')
        .orderBy('attempts.created_at', 'desc')
        .orderBy('attempts.id', 'desc')
        .execute();
      return rows.map(toAttempt);
    },

    async firstStored(sha256s) {
      const found = new Map<string, string>();
      const unique = [...new Set(sha256s)];
      for (let at = 0; at < unique.length; at += CHUNK) {
        const rows = await db.selectFrom('blobs').select(['sha256', 'created_at']).where('sha256', 'in', unique.slice(at, at + CHUNK)).execute();
        for (const row of rows) found.set(row.sha256, row.created_at);
      }
      return found;
    },
  };
}
