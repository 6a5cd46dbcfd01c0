// Accounts on Kysely: users, API keys, upload tokens and invites.
import type { Selectable } from 'kysely';
import type { AccountsRepo, ApiKeyRecord, StoredUser, UploadTokenRecord } from '../core/accounts/accounts-repo.js';
import { NameTakenError } from '../core/images/catalog.js';
import type { Scope } from '../core/access/actor.js';
import type { Role } from '../core/accounts/user.js';
import { isUniqueViolation, sqliteHandle, type Db } from './database.js';
import type { Transaction } from 'kysely';
import type { ApiKeysTable, Database, UploadTokensTable, UsersTable } from './schema.js';

const toUser = (row: Selectable<UsersTable>): StoredUser => ({
  id: row.id,
  username: row.username,
  email: row.email,
  role: row.role as Role,
  createdAt: row.created_at,
  passwordHash: row.password_hash,
  sessionGeneration: Number(row.session_generation),
  disabledAt: row.disabled_at ?? null,
});

const toKey = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes.split(',').filter(Boolean) as Scope[],
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

const toUploadToken = (row: Selectable<UploadTokensTable>): UploadTokenRecord => ({
  id: row.id,
  createdBy: row.created_by,
  ownerId: row.owner_id,
  key: row.key,
  maxBytes: row.max_bytes === null ? null : Number(row.max_bytes),
  singleUse: Boolean(row.single_use),
  expiresAt: row.expires_at,
  usedAt: row.used_at,
  createdAt: row.created_at,
});

/** Bumps the user's session generation, ends their browser sessions and expires their upload tokens, in the caller's transaction. */
/** A deleted user's webhooks go with their deliveries: their secrets are not kept, and nothing more is sent for them. */
async function deleteWebhooksOf(trx: Transaction<Database>, userId: string): Promise<void> {
  const hooks = trx.selectFrom('webhooks').select('id').where('owner_id', '=', userId);
  const deliveries = trx.selectFrom('webhook_deliveries').select('id').where('webhook_id', 'in', hooks);
  await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
  await trx.deleteFrom('webhook_deliveries').where('webhook_id', 'in', hooks).execute();
  await trx.deleteFrom('webhooks').where('owner_id', '=', userId).execute();
}

async function endSessionsIn(trx: Transaction<Database>, userId: string, at: string): Promise<void> {
  await trx
    .updateTable('users')
    .set((eb) => ({ session_generation: eb('session_generation', '+', 1), updated_at: at }))
    .where('id', '=', userId)
    .execute();
  await trx.updateTable('upload_tokens').set({ expires_at: at }).where('owner_id', '=', userId).where('expires_at', '>', at).execute();
  await trx.deleteFrom('browser_sessions').where('user_id', '=', userId).execute();
}

/**
 * The user and the number of admins, read in the caller's transaction. On PostgreSQL the admin rows are locked, so two
 * admins removed at once cannot both see the other one still there; SQLite writes one transaction at a time anyway.
 */
async function userAndAdmins(trx: Transaction<Database>, userId: string, postgres: boolean): Promise<{ role: string | undefined; admins: number }> {
  let admins = trx.selectFrom('users').select('id').where('role', '=', 'admin');
  if (postgres) admins = admins.forUpdate();
  const adminIds = (await admins.execute()).map((r) => r.id);
  const user = await trx.selectFrom('users').select('role').where('id', '=', userId).executeTakeFirst();
  return { role: user?.role, admins: adminIds.length };
}

export function createAccountsRepo(db: Db): AccountsRepo {
  const postgres = sqliteHandle(db) === undefined;
  return {
    async insertUser(user) {
      try {
        await db
          .insertInto('users')
          .values({
            id: user.id,
            username: user.username,
            email: user.email,
            password_hash: user.passwordHash,
            role: user.role,
            created_at: user.createdAt,
            updated_at: user.createdAt,
          })
          .execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const taken = await db.selectFrom('users').select('id').where('username', '=', user.username).executeTakeFirst();
        throw new NameTakenError(taken ? 'username' : 'email');
      }
    },
    async userById(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },
    async userByName(name) {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where((eb) => eb.or([eb('username', '=', name), eb('email', '=', name)]))
        .executeTakeFirst();
      return row && toUser(row);
    },
    async listUsers() {
      const rows = await db.selectFrom('users').selectAll().orderBy('created_at').execute();
      return rows.map((r) => {
        const { passwordHash: _omit, sessionGeneration: _generation, ...user } = toUser(r);
        return user;
      });
    },
    async setPassword(userId, passwordHash) {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
        await endSessionsIn(trx, userId, new Date().toISOString());
      });
    },
    async endSessions(userId) {
      await db.transaction().execute((trx) => endSessionsIn(trx, userId, new Date().toISOString()));
    },
    async deleteUser(userId) {
      return db.transaction().execute(async (trx) => {
        const { role, admins } = await userAndAdmins(trx, userId, postgres);
        if (role === undefined) return { outcome: 'not_found' as const };
        if (role === 'admin' && admins <= 1) return { outcome: 'last_admin' as const };
        const at = new Date().toISOString();
        await trx.updateTable('upload_tokens').set({ expires_at: at }).where('owner_id', '=', userId).where('expires_at', '>', at).execute();
        await trx.deleteFrom('api_keys').where('user_id', '=', userId).execute();
        await trx.deleteFrom('browser_sessions').where('user_id', '=', userId).execute();
        await deleteWebhooksOf(trx, userId);
        const orphaned = await trx.updateTable('images').set({ owner_id: null, updated_at: at }).where('owner_id', '=', userId).executeTakeFirst();
        // Albums stay with their images: without an owner, seen and managed by admins.
        await trx.updateTable('albums').set({ owner_id: null, updated_at: at }).where('owner_id', '=', userId).execute();
        await trx.deleteFrom('users').where('id', '=', userId).execute();
        return { outcome: 'deleted' as const, images: Number(orphaned.numUpdatedRows) };
      });
    },
    async setRole(userId, role) {
      return db.transaction().execute(async (trx) => {
        const current = await userAndAdmins(trx, userId, postgres);
        if (current.role === undefined) return 'not_found';
        if (current.role === 'admin' && role !== 'admin' && current.admins <= 1) return 'last_admin';
        await trx.updateTable('users').set({ role, updated_at: new Date().toISOString() }).where('id', '=', userId).execute();
        return 'done';
      });
    },

    async insertApiKey(key, hash) {
      await db
        .insertInto('api_keys')
        .values({
          id: key.id,
          user_id: key.userId,
          name: key.name,
          prefix: key.prefix,
          hash,
          scopes: key.scopes.join(','),
          created_at: key.createdAt,
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
    },
    async apiKeyByHash(hash) {
      const row = await db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && toKey(row);
    },
    async listApiKeys(userId) {
      let q = db.selectFrom('api_keys').selectAll().where('revoked_at', 'is', null);
      if (userId !== undefined) q = q.where('user_id', '=', userId);
      return (await q.orderBy('created_at', 'desc').execute()).map(toKey);
    },
    async apiKeyById(id) {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toKey(row);
    },
    async revokeApiKey(id) {
      await db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async touchApiKey(id, at) {
      await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
    },

    async insertUploadToken(token, hash) {
      await db
        .insertInto('upload_tokens')
        .values({
          id: token.id,
          hash,
          created_by: token.createdBy,
          owner_id: token.ownerId,
          key: token.key,
          max_bytes: token.maxBytes,
          single_use: token.singleUse ? 1 : 0,
          expires_at: token.expiresAt,
          used_at: null,
          created_at: token.createdAt,
        })
        .execute();
    },
    async uploadTokenByHash(hash) {
      const row = await db.selectFrom('upload_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && toUploadToken(row);
    },
    async consumeUploadToken(id, at) {
      const result = await db.updateTable('upload_tokens').set({ used_at: at }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async releaseUploadToken(id, usedAt) {
      await db.updateTable('upload_tokens').set({ used_at: null }).where('id', '=', id).where('used_at', '=', usedAt).execute();
    },

    async insertInvite(invite, hash) {
      await db
        .insertInto('invites')
        .values({
          id: invite.id,
          hash,
          created_by: invite.createdBy,
          role: invite.role,
          expires_at: invite.expiresAt,
          used_at: null,
          used_by: null,
          created_at: new Date().toISOString(),
        })
        .execute();
    },
    async consumeInvite(hash, usedBy, at) {
      const row = await db
        .updateTable('invites')
        .set({ used_at: at, used_by: usedBy })
        .where('hash', '=', hash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .returning(['id', 'role', 'expires_at', 'used_at'])
        .executeTakeFirst();
      return row && { id: row.id, role: row.role as Role, expiresAt: row.expires_at, usedAt: row.used_at };
    },
    async releaseInvite(hash, usedAt) {
      await db.updateTable('invites').set({ used_at: null, used_by: null }).where('hash', '=', hash).where('used_at', '=', usedAt).execute();
    },

    async setDisabled(userId, at) {
      const result = await db.updateTable('users').set({ disabled_at: at, updated_at: new Date().toISOString() }).where('id', '=', userId).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
