// The credential part of the HTTP context, composed here beside app.ts (it builds the accounts repository, which http/ may not): how each kind of credential resolves, and the signers, each under its own label.
import type { Core } from './app.js';
import type { AdminToken } from './auth/admin-token.js';
import { createCredentialResolver, createSessionCookieResolver } from './auth/credentials.js';
import { createSessionTokens } from './auth/jwt.js';
import { createShareSigner } from './auth/share-urls.js';
import { createAccountsRepo } from './db/accounts.js';
import type { HttpContext } from './http/context.js';
import { csrfTokens } from './http/session-cookies.js';

export type CredentialsContext = Pick<HttpContext, 'resolveCredential' | 'resolveSessionCookie' | 'csrfToken' | 'sessions' | 'shares' | 'albumShares'>;

export function credentialsContext(core: Pick<Core, 'config' | 'db' | 'signingSecret' | 'browserSessions'>, adminToken: AdminToken): CredentialsContext {
  const { config, signingSecret } = core;
  const sessions = createSessionTokens(`jwt:${signingSecret}`, config.auth.jwtExpirySeconds);
  const accountsRepo = createAccountsRepo(core.db);
  const resolveCredential = createCredentialResolver({
    adminToken: adminToken.token,
    sessions,
    repo: accountsRepo,
    hmac: config.auth.uploadTokenSecret
      ? { secret: config.auth.uploadTokenSecret, expirySeconds: config.auth.uploadTokenExpirySeconds, skewSeconds: config.auth.clockSkewSeconds }
      : undefined,
    hmacOwner: config.auth.uploadTokenOwner,
  });
  return {
    resolveCredential,
    resolveSessionCookie: createSessionCookieResolver(accountsRepo, core.browserSessions),
    csrfToken: csrfTokens(`csrf:${signingSecret}`),
    sessions,
    shares: createShareSigner(`share:${signingSecret}`),
    albumShares: createShareSigner(`share:${signingSecret}`, 'album'),
  };
}
