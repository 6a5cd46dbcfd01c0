// Accounts: registration, login, passwords, and an admin's management of users; API keys, minted upload tokens and
// invites in issued-credentials.ts.
import { SCOPES, type Actor, type Scope } from '../access/actor.js';
import { requireAdmin } from '../access/policy.js';
import { ImgdError } from '../errors.js';
import { newId } from '../ids.js';
import { NameTakenError } from '../images/catalog.js';
import { checkPassword, checkRegistration, invalid, visibleUser } from './account-rules.js';
import type { AccountsRepo, ApiKeyRecord, StoredUser, UploadTokenRecord } from './accounts-repo.js';
import type { Audit, AuditRecord } from '../audit.js';
import { createIssuedCredentials, type MintUploadTokenInput } from './issued-credentials.js';
import { hashSecret } from './opaque-tokens.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { ROLES, type Role, type User } from './user.js';

export type RegistrationMode = 'open' | 'closed' | 'invite';

export interface RegisterInput {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly invite?: string | undefined;
}

/** The scopes a role's session carries. */
export function roleScopes(role: Role): Scope[] {
  return role === 'admin' ? [...SCOPES] : SCOPES.filter((s) => s !== 'admin');
}

export interface Accounts {
  register(input: RegisterInput, ip: string | null): Promise<User>;
  /** Creates a user from the CLI or by an admin, whatever the registration mode. */
  addUser(input: RegisterInput, role: Role): Promise<User>;
  /** The user behind a username (or email) and password, with the session generation to sign; unauthorized otherwise, in the same time. */
  login(username: string, password: string, ip: string | null): Promise<User & { sessionGeneration: number }>;
  changePassword(actor: Actor, current: string, next: string, ip: string | null): Promise<void>;
  /**
   * Deletes a user (admin only; `by` is 'cli' from the command line). Their API keys go, their upload tokens expire,
   * their sessions end (the user is gone); their images stay, without an owner: only admins see and manage them,
   * and public URLs keep working. Refused (conflict) for the last admin. Answers the user and how many images they had.
   */
  deleteUser(by: Actor | 'cli', userId: string, ip: string | null): Promise<{ user: User; images: number }>;
  /** Sets a user's password (admin only, or 'cli') and ends their sessions and upload tokens; API keys stay. */
  setUserPassword(by: Actor | 'cli', userId: string, password: string, ip: string | null): Promise<User>;
  /** Sets a user's role (admin only, or 'cli'); demoting the last admin is refused (conflict). Takes effect at the next request. */
  setUserRole(by: Actor | 'cli', userId: string, role: Role, ip: string | null): Promise<User>;
  userById(id: string): Promise<User | undefined>;
  userByName(username: string): Promise<User | undefined>;
  listUsers(actor: Actor): Promise<User[]>;
  createApiKey(actor: Actor, name: string, scopes: readonly Scope[], ip: string | null): Promise<{ key: ApiKeyRecord; secret: string }>;
  listApiKeys(actor: Actor): Promise<ApiKeyRecord[]>;
  revokeApiKey(actor: Actor, id: string, ip: string | null): Promise<void>;
  mintUploadToken(actor: Actor, input: MintUploadTokenInput, ip: string | null): Promise<{ token: UploadTokenRecord; secret: string }>;
  createInvite(actor: Actor, role: Role, expiresIn: number): Promise<{ secret: string; expiresAt: string }>;
  auditLog(actor: Actor, limit: number): Promise<AuditRecord[]>;
  /** An admin adds a user, whatever the registration mode. */
  createUser(actor: Actor, input: RegisterInput, role: Role, ip: string | null): Promise<User>;
  /** An admin disables (no sign-in, every credential refused) or enables a user; not themselves. */
  setUserDisabled(actor: Actor, userId: string, disabled: boolean, ip: string | null): Promise<User>;
  /** Spends a single-use upload token; the function returned gives it back (the upload was refused). */
  spendUploadGrant(actor: Actor): Promise<() => Promise<void>>;
  audit: Audit;
}

export function createAccounts(repo: AccountsRepo, options: { registration: RegistrationMode; audit: Audit }): Accounts {
  const { audit } = options;

  async function insert(input: RegisterInput, role: Role): Promise<User> {
    const { username, email } = checkRegistration(input);
    const user = { id: newId(), username, email, role, createdAt: new Date().toISOString() };
    try {
      await repo.insertUser({ ...user, passwordHash: await hashPassword(input.password), sessionGeneration: 0 });
    } catch (err) {
      if (err instanceof NameTakenError) {
        throw new ImgdError('conflict', `That ${err.message} is already registered.`, { field: err.message });
      }
      throw err;
    }
    return user;
  }

  /** The user an admin operation is about; not_found otherwise. */
  async function target(by: Actor | 'cli', userId: string): Promise<StoredUser> {
    if (by !== 'cli') requireAdmin(by);
    const stored = await repo.userById(userId);
    if (!stored) throw new ImgdError('not_found', `No user ${JSON.stringify(userId)}.`);
    return stored;
  }

  const lastAdmin = (what: string): ImgdError =>
    new ImgdError('conflict', `${what} would leave no admin user: make another user an admin first.`);

  return {
    audit,
    ...createIssuedCredentials(repo, audit),

    async register(input, ip) {
      const mode = options.registration;
      // An invite is an admin's word: it opens registration whatever the mode.
      if (mode === 'closed' && !input.invite) throw new ImgdError('forbidden', 'Registration is closed on this server; ask an admin for an account or an invite.');
      let role: Role = 'user';
      let taken: { hash: string; at: string } | undefined;
      if (mode !== 'open' || input.invite) {
        if (!input.invite) throw new ImgdError('forbidden', 'Registration needs an invite on this server.');
        checkRegistration(input);
        taken = { hash: hashSecret(input.invite), at: new Date().toISOString() };
        const invite = await repo.consumeInvite(taken.hash, input.username, taken.at);
        if (!invite) throw new ImgdError('forbidden', 'The invite is unknown, used or expired.');
        role = invite.role;
      }
      let user: User;
      try {
        user = await insert(input, role);
      } catch (err) {
        // A name or address already taken: the invite stays good for another try.
        if (taken) await repo.releaseInvite(taken.hash, taken.at);
        throw err;
      }
      await audit.record(`user:${user.id}`, 'user.register', user.id, ip, { username: user.username });
      return user;
    },

    async addUser(input, role) {
      if (!ROLES.includes(role)) throw invalid('role', `role must be one of ${ROLES.join(', ')}.`);
      const user = await insert(input, role);
      await audit.record('cli', 'user.add', user.id, null, { username: user.username, role });
      return user;
    },

    async login(username, password, ip) {
      const stored = await repo.userByName(username.trim().toLowerCase());
      const ok = await verifyPassword(stored?.passwordHash ?? (await decoyHash()), password);
      if (!stored || !ok) {
        await audit.record('anonymous', 'login.failed', null, ip, { username: username.slice(0, 64) });
        throw new ImgdError('unauthorized', 'The username or password is wrong.');
      }
      await audit.record(`user:${stored.id}`, 'login', stored.id, ip);
      if (stored.disabledAt) {
        await audit.record(`user:${stored.id}`, 'login.disabled', stored.id, ip);
        throw new ImgdError('forbidden', 'This account has been disabled; ask an admin.');
      }
      const { passwordHash: _omit, ...user } = stored;
      return user;
    },

    async changePassword(actor, current, next, ip) {
      if (actor.kind !== 'user' || actor.apiKeyId !== null) {
        throw new ImgdError('forbidden', 'Sign in as the user (not with a key or token) to change a password.');
      }
      const stored = await repo.userById(actor.user.id);
      if (!stored || !(await verifyPassword(stored.passwordHash, current))) {
        throw new ImgdError('unauthorized', 'The current password is wrong.');
      }
      checkPassword(next, 'new_password');
      await repo.setPassword(stored.id, await hashPassword(next));
      await audit.record(actor, 'user.password_changed', stored.id, ip);
    },

    async deleteUser(by, userId, ip) {
      const stored = await target(by, userId);
      const result = await repo.deleteUser(stored.id);
      if (result.outcome === 'not_found') throw new ImgdError('not_found', `No user ${JSON.stringify(userId)}.`);
      if (result.outcome === 'last_admin') throw lastAdmin(`Deleting ${stored.username}`);
      await audit.record(by, 'user.delete', stored.id, ip, { username: stored.username, images: result.images });
      return { user: visibleUser(stored), images: result.images };
    },

    async setUserPassword(by, userId, password, ip) {
      const stored = await target(by, userId);
      checkPassword(password, 'password');
      await repo.setPassword(stored.id, await hashPassword(password));
      await audit.record(by, 'user.password_set', stored.id, ip);
      return visibleUser(stored);
    },

    async setUserRole(by, userId, role, ip) {
      if (!ROLES.includes(role)) throw invalid('role', `role must be one of ${ROLES.join(', ')}.`);
      const stored = await target(by, userId);
      const outcome = await repo.setRole(stored.id, role);
      if (outcome === 'not_found') throw new ImgdError('not_found', `No user ${JSON.stringify(userId)}.`);
      if (outcome === 'last_admin') throw lastAdmin(`Making ${stored.username} a ${role}`);
      if (stored.role !== role) await audit.record(by, 'user.role', stored.id, ip, { from: stored.role, to: role });
      return { ...visibleUser(stored), role };
    },

    async userById(id) {
      const stored = await repo.userById(id);
      return stored && visibleUser(stored);
    },

    async userByName(username) {
      const stored = await repo.userByName(username.trim().toLowerCase());
      return stored && visibleUser(stored);
    },

    async listUsers(actor) {
      requireAdmin(actor);
      return repo.listUsers();
    },

    async auditLog(actor, limit) {
      requireAdmin(actor);
      return audit.recent(limit);
    },

    async createUser(actor, input, role, ip) {
      requireAdmin(actor);
      if (!ROLES.includes(role)) throw invalid('role', `role must be one of ${ROLES.join(', ')}.`);
      const user = await insert(input, role);
      await audit.record(actor, 'user.add', user.id, ip, { username: user.username, role });
      return user;
    },

    async setUserDisabled(actor, userId, disabled, ip) {
      requireAdmin(actor);
      if (actor.kind === 'user' && actor.user.id === userId) throw new ImgdError('conflict', 'You cannot disable your own account.');
      const stored = await repo.userById(userId);
      if (!stored) throw new ImgdError('not_found', `No user ${JSON.stringify(userId)}.`);
      const at = disabled ? (stored.disabledAt ?? new Date().toISOString()) : null;
      await repo.setDisabled(userId, at);
      // Bearer sessions end too; browser sessions and API keys are refused while the account is disabled.
      if (disabled) await repo.endSessions(userId);
      if (Boolean(stored.disabledAt) !== disabled) await audit.record(actor, disabled ? 'user.disable' : 'user.enable', userId, ip);
      return { ...visibleUser(stored), disabledAt: at };
    },
  };
}
