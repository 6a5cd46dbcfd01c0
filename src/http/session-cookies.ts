// The session cookie and its CSRF companion: set at sign-in, dropped at sign-out, checked on every state-changing request.
import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../core/errors.js';
import { secretEquals } from '../lib/secrets.js';

/** HttpOnly: the session's secret, which scripts never see. */
export const SESSION_COOKIE = 'imgd_session';
/** Readable by the page's scripts, which send it back in CSRF_HEADER (double submit, bound to the session by HMAC). */
export const CSRF_COOKIE = 'imgd_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The CSRF token of a session: an HMAC of its secret, so a token planted by another site matches no session. */
export function csrfTokens(key: string): (sessionSecret: string) => string {
  return (secret) => createHmac('sha256', key).update(secret).digest('base64url');
}

/** Secure when the browser reached us over https (directly, or as a trusted proxy says). */
const secure = (request: FastifyRequest): boolean => request.protocol === 'https';

export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, secret: string, csrf: string, maxAgeSeconds: number): void {
  const common = { path: '/', sameSite: 'lax' as const, secure: secure(request), maxAge: maxAgeSeconds };
  reply.setCookie(SESSION_COOKIE, secret, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, csrf, { ...common, httpOnly: false });
}

export function clearSessionCookies(request: FastifyRequest, reply: FastifyReply): void {
  const common = { path: '/', sameSite: 'lax' as const, secure: secure(request) };
  reply.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, common);
}

/**
 * A request authenticated by the cookie alone changes nothing unless it proves it comes from our own pages: the
 * CSRF token in its header, and no browser saying it was sent from another site. Bearer requests never get here.
 */
export function checkCsrf(request: FastifyRequest, expected: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.headers['sec-fetch-site'] === 'cross-site') {
    throw new ImgdError('csrf_failed', 'This request came from another site; it was refused to protect your session.');
  }
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !secretEquals(sent, expected)) {
    throw new ImgdError('csrf_failed', `A request signed in by cookie must carry the ${CSRF_HEADER} header from the ${CSRF_COOKIE} cookie.`);
  }
}
