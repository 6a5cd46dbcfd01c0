// What makes a valid account: username, e-mail and password rules, and the user as others may see it.
import { ImgdError } from '../errors.js';
import type { StoredUser } from './accounts-repo.js';
import { MAX_PASSWORD, MIN_PASSWORD } from './passwords.js';
import type { RegisterInput } from './accounts.js';
import type { User } from './user.js';

const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{1,63}$/;

export function invalid(field: string, message: string): ImgdError {
  return new ImgdError('validation_failed', message, { field });
}

export function checkRegistration(input: RegisterInput): { username: string; email: string } {
  const username = input.username.trim().toLowerCase();
  const email = input.email.trim().toLowerCase();
  if (!USERNAME.test(username)) {
    throw invalid('username', 'username must be 3 to 32 characters: letters, digits, and . _ - (not first).');
  }
  if (!EMAIL.test(email)) throw invalid('email', 'email must be an e-mail address.');
  checkPassword(input.password, 'password');
  return { username, email };
}

/** A user without what only the server needs (password hash, session generation). */
export function visibleUser(stored: StoredUser): User {
  const { passwordHash: _hash, sessionGeneration: _generation, ...user } = stored;
  return user;
}

export function checkPassword(password: string, field: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw invalid(field, `${field} must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
  }
}
