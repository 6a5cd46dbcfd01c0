// A user account and its role.

export type Role = 'admin' | 'user';
export const ROLES: readonly Role[] = ['admin', 'user'];
export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: string;
  /** Set while an admin has disabled the account: no sign-in, and its sessions and keys are refused. */
  readonly disabledAt?: string | null;
}
