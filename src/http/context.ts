// What the HTTP adapters are given by the composition root.
import type { ResolveCredential } from '../auth/credentials.js';
import type { SessionTokens } from '../auth/jwt.js';
import type { ShareSigner } from '../auth/share-urls.js';
import type { Config } from '../config.js';
import type { Accounts } from '../core/accounts.js';
import type { Catalog } from '../core/catalog.js';
import type { Images } from '../core/images.js';
import type { Ingest } from '../core/ingest.js';
import type { JobQueue } from '../jobs/queue.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Metrics } from './metrics.js';
import type { Variants } from '../core/variants.js';
import type { StepStats } from '../core/processing.js';

export interface HttpContext {
  readonly config: Config;
  readonly resolveCredential: ResolveCredential;
  readonly accounts: Accounts;
  readonly sessions: SessionTokens;
  readonly shares: ShareSigner;
  /** The absolute base of every URL the API hands out. */
  publicUrl(): string;
  readonly catalog: Catalog;
  readonly store: BlobStore;
  readonly queue: JobQueue;
  readonly ingest: Ingest;
  readonly images: Images;
  readonly metrics: Metrics;
  readonly variants: Variants;
  processingStats(sinceIso: string): Promise<StepStats[]>;
}
