// What the HTTP adapters are given by the composition root: part of the core, plus the credential machinery.
import type { Core } from '../app.js';
import type { ResolveCredential } from '../auth/credentials.js';
import type { SessionTokens } from '../auth/jwt.js';
import type { ShareSigner } from '../auth/share-urls.js';

export interface HttpContext
  extends Pick<Core, 'config' | 'accounts' | 'catalog' | 'store' | 'queue' | 'uploads' | 'images' | 'servable' | 'serving' | 'metrics' | 'variants' | 'processingStats' | 'profileRecords' | 'disk' | 'resumable' | 'idempotency' | 'decoding' | 'webhooks'> {
  readonly resolveCredential: ResolveCredential;
  readonly sessions: SessionTokens;
  readonly shares: ShareSigner;
  /** The absolute base of every URL the API hands out. */
  publicUrl(): string;
}
