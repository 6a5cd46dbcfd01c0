// What the HTTP adapters are given by the composition root: part of the core, plus the credential machinery.
import type { Core } from '../app.js';
import type { ResolveCredential, ResolveSessionCookie } from '../auth/credentials.js';
import type { SessionTokens } from '../auth/jwt.js';
import type { ShareSigner } from '../auth/share-urls.js';

export interface HttpContext
  extends Pick<Core, 'config' | 'accounts' | 'catalog' | 'store' | 'queue' | 'uploads' | 'images' | 'servable' | 'serving' | 'metrics' | 'variants' | 'processingStats' | 'profileRecords' | 'disk' | 'resumable' | 'idempotency' | 'decoding' | 'webhooks' | 'browserSessions' | 'trash' | 'albums'> {
  readonly resolveCredential: ResolveCredential;
  readonly resolveSessionCookie: ResolveSessionCookie;
  /** The CSRF token that goes with a session cookie's secret (sent back in X-CSRF-Token). */
  csrfToken(sessionSecret: string): string;
  readonly sessions: SessionTokens;
  readonly shares: ShareSigner;
  /** Signs album share links (the viewer page /v/a/<id>). */
  readonly albumShares: ShareSigner;
  /** The absolute base of every URL the API hands out. */
  publicUrl(): string;
}
