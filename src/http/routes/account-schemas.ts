// Schemas and views the account routes share: users, problems, sessions.
import { Type } from '@sinclair/typebox';
import type { BrowserSession } from '../../core/accounts/browser-sessions.js';
import { ROLES, type User } from '../../core/accounts/user.js';
import { SCOPES } from '../../core/access/actor.js';

export { problems } from '../openapi.js';

export const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)));

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const UserSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    email: Type.String(),
    role: RoleSchema,
    created_at: Type.String({ format: 'date-time' }),
    disabled: Type.Boolean({ description: 'An admin disabled the account: it cannot sign in, and its sessions and keys are refused' }),
  },
);

export const userView = (u: User) => ({ id: u.id, username: u.username, email: u.email, role: u.role, created_at: u.createdAt, disabled: Boolean(u.disabledAt) });

export const SessionSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String({ format: 'date-time', description: 'When the browser signed in' }),
    last_seen_at: Type.String({ format: 'date-time', description: 'Its last request, to the minute' }),
    expires_at: Type.String({ format: 'date-time', description: 'When it ends unless used again (the idle timeout), or at the latest (the lifetime)' }),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean({ description: 'The session this request came with' }),
  },
);

export const sessionView = (s: BrowserSession, expiresAt: string, currentId: string | undefined) => ({
  id: s.id,
  created_at: s.createdAt,
  last_seen_at: s.lastSeenAt,
  expires_at: expiresAt,
  user_agent: s.userAgent,
  ip: s.ip,
  current: s.id === currentId,
});
