// What the accounts service needs from the database (implemented in db/accounts.ts).
import type { Scope } from '../access/actor.js';
import type { Role, User } from './user.js';

export interface StoredUser extends User {
  readonly passwordHash: string;
  /** Sessions signed under another generation are over (see endSessions). */
  readonly sessionGeneration: number;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface UploadTokenRecord {
  readonly id: string;
  readonly createdBy: string | null;
  readonly ownerId: string | null;
  readonly key: string | null;
  readonly maxBytes: number | null;
  readonly singleUse: boolean;
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly createdAt: string;
}

export interface InviteRecord {
  readonly id: string;
  readonly role: Role;
  readonly expiresAt: string;
  readonly usedAt: string | null;
}

export interface AccountsRepo {
  /** Rejects with NameTakenError naming `username` or `email` when either is in use. */
  insertUser(user: StoredUser): Promise<void>;
  userById(id: string): Promise<StoredUser | undefined>;
  userByName(usernameOrEmail: string): Promise<StoredUser | undefined>;
  listUsers(): Promise<User[]>;
  /** Sets a new password hash and ends the user's sessions and upload tokens (endSessions), in one transaction. */
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** Ends every session (bumps the generation, removes browser sessions) and unexpired upload token of the user, at once. */
  endSessions(userId: string): Promise<void>;
  /**
   * In one transaction, unless it would leave no admin: deletes the user and their API keys, expires their upload
   * tokens, and leaves their images without an owner. Answers how many images that was.
   */
  deleteUser(userId: string): Promise<{ outcome: 'deleted'; images: number } | { outcome: 'not_found' } | { outcome: 'last_admin' }>;
  /** Sets the role unless that would leave no admin. */
  setRole(userId: string, role: Role): Promise<'done' | 'not_found' | 'last_admin'>;

  insertApiKey(key: ApiKeyRecord, hash: string): Promise<void>;
  apiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(userId: string | undefined): Promise<ApiKeyRecord[]>;
  apiKeyById(id: string): Promise<ApiKeyRecord | undefined>;
  revokeApiKey(id: string): Promise<void>;
  touchApiKey(id: string, at: string): Promise<void>;

  insertUploadToken(token: UploadTokenRecord, hash: string): Promise<void>;
  uploadTokenByHash(hash: string): Promise<UploadTokenRecord | undefined>;
  /** Marks a single-use token used; false when it already was. */
  consumeUploadToken(id: string, at: string): Promise<boolean>;
  /** Gives a single-use token back (the upload it was spent on was refused). */
  releaseUploadToken(id: string, usedAt: string): Promise<void>;

  insertInvite(invite: InviteRecord & { createdBy: string | null }, hash: string): Promise<void>;
  /** Takes an unused, unexpired invite; undefined when there is none. */
  consumeInvite(hash: string, usedBy: string, at: string): Promise<InviteRecord | undefined>;
  /** Gives a taken invite back (the registration it was taken for failed). */
  releaseInvite(hash: string, usedAt: string): Promise<void>;

  /** Disables (at a time) or enables (null) a user; false when there is no such user. */
  setDisabled(userId: string, at: string | null): Promise<boolean>;
}
