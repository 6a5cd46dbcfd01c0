// What accounts issue besides passwords: API keys (scoped, never more than their creator's), minted upload tokens
// (a key, a size, once), and invites; each secret shown once and stored as a hash.
import { describeActor, SCOPES, type Actor, type Scope } from '../access/actor.js';
import { isAdmin, requireAdmin, requireAuthenticated } from '../access/policy.js';
import { ImgdError } from '../errors.js';
import { newId } from '../ids.js';
import { checkKey } from '../upload/fields.js';
import { invalid } from './account-rules.js';
import type { Accounts } from './accounts.js';
import type { Audit } from '../audit.js';
import type { AccountsRepo, ApiKeyRecord, UploadTokenRecord } from './accounts-repo.js';
import { mintSecret } from './opaque-tokens.js';
import { ROLES } from './user.js';

export interface MintUploadTokenInput {
  readonly key?: string | null | undefined;
  readonly maxBytes?: number | null | undefined;
  readonly expiresIn: number;
  readonly singleUse: boolean;
}

const MAX_TOKEN_SECONDS = 30 * 86_400;

export type IssuedCredentials = Pick<
  Accounts,
  'createApiKey' | 'listApiKeys' | 'revokeApiKey' | 'mintUploadToken' | 'spendUploadGrant' | 'createInvite'
>;

/** The scopes a new key asks for, checked: known, at least one, admin only for admins. */
function ownKeyScopes(actor: Actor, scopes: readonly Scope[]): Scope[] {
  const unique = [...new Set(scopes)];
  if (unique.length === 0) throw invalid('scopes', `scopes must name at least one of ${SCOPES.join(', ')}.`);
  for (const scope of unique) {
    if (!SCOPES.includes(scope)) throw invalid('scopes', `Unknown scope ${JSON.stringify(scope)}.`);
    if (scope === 'admin' && !isAdmin(actor)) throw new ImgdError('forbidden', 'Only admins may create keys with the admin scope.');
  }
  return unique;
}

export function createIssuedCredentials(repo: AccountsRepo, audit: Audit): IssuedCredentials {
  return {
    async createApiKey(actor, name, scopes, ip) {
      // No credential at all is 401, like everywhere else; only a credential of the wrong kind is 403.
      requireAuthenticated(actor);
      if (actor.kind !== 'user') throw new ImgdError('forbidden', 'API keys belong to users: sign in as a user to create one.');
      const trimmed = name.trim();
      if (trimmed.length < 1 || trimmed.length > 100) throw invalid('name', 'name must be 1 to 100 characters.');
      // A key never carries more than the credential that creates it.
      const wanted = ownKeyScopes(actor, scopes);
      const missing = wanted.filter((s) => !actor.scopes.includes(s));
      if (missing.length > 0) throw new ImgdError('forbidden', `This credential cannot grant ${missing.join(', ')}.`);
      const minted = mintSecret('key');
      const key: ApiKeyRecord = {
        id: newId(),
        userId: actor.user.id,
        name: trimmed,
        prefix: minted.prefix,
        scopes: wanted,
        createdAt: new Date().toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      };
      await repo.insertApiKey(key, minted.hash);
      await audit.record(actor, 'api_key.create', key.id, ip, { name: key.name, scopes: wanted });
      return { key, secret: minted.secret };
    },

    async listApiKeys(actor) {
      requireAuthenticated(actor);
      if (isAdmin(actor) && actor.kind === 'admin') return repo.listApiKeys(undefined);
      if (actor.kind !== 'user') throw new ImgdError('forbidden', 'Only users have API keys.');
      return repo.listApiKeys(actor.user.id);
    },

    async revokeApiKey(actor, id, ip) {
      requireAuthenticated(actor);
      const key = await repo.apiKeyById(id);
      const mine = key && actor.kind === 'user' && key.userId === actor.user.id;
      if (!key || key.revokedAt !== null || !(mine || isAdmin(actor))) throw new ImgdError('not_found', `No API key ${JSON.stringify(id)}.`);
      await repo.revokeApiKey(id);
      await audit.record(actor, 'api_key.revoke', id, ip);
    },

    async mintUploadToken(actor, input, ip) {
      requireAuthenticated(actor);
      if (actor.kind === 'upload_token') throw new ImgdError('forbidden', 'An upload token cannot mint tokens.');
      if (actor.kind === 'user' && !actor.scopes.includes('upload')) throw new ImgdError('forbidden', 'This credential lacks the "upload" scope.');
      if (!Number.isInteger(input.expiresIn) || input.expiresIn < 1 || input.expiresIn > MAX_TOKEN_SECONDS) {
        throw invalid('expires_in', `expires_in must be 1 to ${MAX_TOKEN_SECONDS} seconds.`);
      }
      if (input.maxBytes != null && (!Number.isInteger(input.maxBytes) || input.maxBytes < 1)) {
        throw invalid('max_bytes', 'max_bytes must be a positive whole number.');
      }
      const minted = mintSecret('upload');
      const now = Date.now();
      const owner = actor.kind === 'user' ? actor.user.id : null;
      const token: UploadTokenRecord = {
        id: newId(),
        createdBy: describeActor(actor),
        ownerId: owner,
        key: input.key == null ? null : checkKey(input.key),
        maxBytes: input.maxBytes ?? null,
        singleUse: input.singleUse,
        expiresAt: new Date(now + input.expiresIn * 1000).toISOString(),
        usedAt: null,
        createdAt: new Date(now).toISOString(),
      };
      await repo.insertUploadToken(token, minted.hash);
      await audit.record(actor, 'upload_token.mint', token.id, ip, { key: token.key, max_bytes: token.maxBytes, single_use: token.singleUse });
      return { token, secret: minted.secret };
    },

    async spendUploadGrant(actor) {
      if (actor.kind !== 'upload_token' || !actor.grant.singleUse || actor.grant.tokenId === null) return async () => undefined;
      const { tokenId } = actor.grant;
      const at = new Date().toISOString();
      if (!(await repo.consumeUploadToken(tokenId, at))) {
        throw new ImgdError('unauthorized', 'The upload token was already used.');
      }
      return () => repo.releaseUploadToken(tokenId, at);
    },

    async createInvite(actor, role, expiresIn) {
      requireAdmin(actor);
      if (!ROLES.includes(role)) throw invalid('role', `role must be one of ${ROLES.join(', ')}.`);
      if (!Number.isInteger(expiresIn) || expiresIn < 60 || expiresIn > MAX_TOKEN_SECONDS) {
        throw invalid('expires_in', `expires_in must be 60 to ${MAX_TOKEN_SECONDS} seconds.`);
      }
      const minted = mintSecret('invite');
      const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
      await repo.insertInvite({ id: newId(), role, expiresAt, usedAt: null, createdBy: describeActor(actor) }, minted.hash);
      await audit.record(actor, 'invite.create', null, null, { role });
      return { secret: minted.secret, expiresAt };
    },
  };
}
