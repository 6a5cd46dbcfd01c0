// The composition root: builds the database, stores, queue, core and HTTP server from the config.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { loadAdminToken, loadOrCreateSecret, type AdminToken } from './auth/admin-token.js';
import { createAccounts, type Accounts } from './core/accounts/accounts.js';
import { createAudit } from './core/audit.js';
import { createAccountsRepo } from './db/accounts.js';
import { createAuditRepo } from './db/audit.js';
import { createBrowserSessionsRepo } from './db/browser-sessions.js';
import { createBrowserSessions, type BrowserSessions } from './core/accounts/browser-sessions.js';
import { derivedPublicUrl, type Config } from './config.js';
import type { Catalog } from './core/images/catalog.js';
import { collectGarbage, type GcReport } from './core/storage/gc.js';
import { tightenDataDir } from './ops/private-files.js';
import { createImages, type Images } from './core/images/images.js';
import { forgettingChanges, ServableIndex } from './core/images/servable-index.js';
import { observingChanges } from './core/images/image-changes.js';
import { createServing, type Serving } from './core/images/serving.js';
import { createUploads } from './core/upload/uploads.js';
import type { Uploads } from './core/upload/upload-api.js';
import { createResumableUploads, type Resumable } from './core/upload/resumable.js';
import { createResumableRepo } from './db/resumable-uploads.js';
import { createIdempotency, type Idempotency } from './core/upload/idempotency.js';
import { createIdempotencyRepo } from './db/idempotency-keys.js';
import { createCatalog } from './db/catalog.js';
import type { Db } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import type { HttpContext } from './http/context.js';
import { credentialsContext } from './credentials-context.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { buildHttp } from './http/server.js';
import { buildCompat, planListeners } from './http/compat/index.js';
import type { ProfileName } from './http/compat/profile.js';
import { registerJobHandlers, uploadJobs } from './jobs/handlers.js';
import { observeOutcomes } from './jobs/observed.js';
import { openJobRunner } from './jobs/runner.js';
import { createCaptioner } from './captions/providers.js';
import { readExif } from './core/metadata/exif.js';
import { createProcessing, type Processing, type StepStats } from './core/jobs/processing.js';
import { createImageLifecycle, type ImageEvents } from './core/images/image-lifecycle.js';
import { createTrash, type Trash } from './core/images/trash.js';
import { createAlbums, type Albums } from './core/images/albums.js';
import { createAlbumsRepo } from './db/albums.js';
import { createJobsRepo } from './db/jobs.js';
import { createVariants, type Variants } from './core/variants/variants.js';
import { createDecoding, type Decoding } from './core/codecs/decoding.js';
import { createProcessingRuns } from './db/processing-runs.js';
import { createProfileRecords, type ProfileRecords } from './db/profile-records.js';
import type { JobQueue } from './jobs/queue.js';
import { auditLines, createLogger } from './logging.js';
import type { BlobStore } from './core/storage/blob-store.js';
import { openStore } from './store/open.js';
import { publicTreeListeners } from './store/public-tree-setup.js';
import { createDiskSpace, type DiskSpace } from './core/storage/disk-space.js';
import type { Webhooks } from './core/webhooks/webhooks.js';
import { setUpWebhooks, webhookEventRecorder } from './webhooks/setup.js';
import { appShutdown, closeCore } from './shutdown.js';
import { configureSharp, localWriteDirs, openLoggedDatabase, prepareDataDir, sweepStaleTemp } from './startup.js';

export interface Core {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
  readonly catalog: Catalog;
  readonly store: BlobStore;
  readonly queue: JobQueue;
  readonly uploads: Uploads;
  /** Resumable (tus) uploads: state in the database, bytes staged in the store. */
  readonly resumable: Resumable;
  /** Idempotency-Key answers, kept a day. */
  readonly idempotency: Idempotency;
  readonly images: Images;
  readonly webhooks: Webhooks;
  /** The base of the image URLs in webhook event bodies: PUBLIC_URL, else set by createApp once it listens. */
  readonly eventUrls: { base: string };
  /** Images behind serving URLs, held in memory; every change through `catalog` forgets there at once, others within a poll. */
  readonly servable: ServableIndex;
  /** What a serving URL answers for an actor: access, variant plan, render or fetch. */
  readonly serving: Serving;
  /** Deleted images waiting TRASH_DAYS to be purged, restored or emptied. */
  readonly trash: Trash;
  readonly albums: Albums;
  readonly metrics: Metrics;
  readonly accounts: Accounts;
  /** Browser sessions (cookies): listed, revocable, with a lifetime and an idle timeout. */
  readonly browserSessions: BrowserSessions;
  readonly variants: Variants;
  readonly processing: Processing;
  /** The decode memory budget and the HEIC and SVG threads of this app (closed with it). */
  readonly decoding: Decoding;
  /** Numbers and attempt records the compatibility profiles read. */
  readonly profileRecords: ProfileRecords;
  /** Signs sessions, share links and transform URLs (each under its own label). */
  readonly signingSecret: string;
  processingStats(sinceIso: string): Promise<StepStats[]>;
  /** Folders whose stale files `gc` removes. */
  readonly tempDirs: readonly string[];
  /** Free space on the local folders imgd writes to, and writes that found none (readiness). */
  readonly disk: DiskSpace;
  gc(graceSeconds?: number): Promise<GcReport>;
  close(): Promise<void>;
}

export interface App extends Core {
  readonly http: FastifyInstance;
  readonly adminToken: AdminToken;
  /** Listens on the configured host and port; returns the public base URL. */
  listen(): Promise<string>;
  publicUrl(): string;
  /** Where a COMPAT profile answers once listening: its own listener's address, or the main one's. */
  profileUrl(name: ProfileName): string | undefined;
}

/** How long an Idempotency-Key and its answer are kept (the draft's suggestion: a day). */
const IDEMPOTENCY_KEY_SECONDS = 86_400;

/** Bytes uploads in flight may hold in memory together; past it they stream to staged files from the start. */
const UPLOAD_MEMORY_BYTES = 64 * 1024 * 1024;

export interface CoreOptions {
  readonly logger?: Logger;
  /** Run job handlers whatever RUN_WORKERS says (`imgd worker`). */
  readonly worker?: boolean;
  /** Told when an image goes to the trash, comes back, or is purged (webhooks hook in here). */
  readonly imageEvents?: ImageEvents;
}

/** Everything but HTTP: what the CLI's maintenance commands need. */
export async function createCore(config: Config, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? createLogger(config.logLevel);
  await prepareDataDir(config);
  configureSharp(config.processing);
  const db = openLoggedDatabase(config, logger);
  await migrateToLatest(db);
  await tightenDataDir(config.dataDir, { sqlite: config.database.kind === 'sqlite' ? config.database.file : undefined, blobDir: config.storage.kind === 'fs' ? config.storage.dir : undefined });
  const eventUrls = { base: config.publicUrl ?? derivedPublicUrl(config.host, config.port) };
  // The variants an image object lists, as the image routes list them.
  const presets = config.processing.enabled ? Object.keys(config.processing.presets) : [];
  const events = webhookEventRecorder(db, config, { publicUrl: () => eventUrls.base, presets });
  const stored = createCatalog(db, { groupCommits: config.database.kind === 'sqlite', events });
  const servable = new ServableIndex(stored);
  const catalog = observingChanges(stored, [forgettingChanges(servable), ...(await publicTreeListeners(config, stored, logger))]);
  const { store, storeTmpDir } = await openStore(config.storage);
  const runner = await openJobRunner(config, createJobsRepo(db), logger.child({ component: 'jobs' }), options.worker);
  // This app's own threads and budget: another app in the same process (tests, the CLI) has its own, and closing one leaves the other working.
  const decoding = createDecoding(config.decoding);
  const { budget } = decoding;
  const metrics = createMetrics({ queueDepth: () => runner.depth(), decodeBudget: () => ({ bytes: budget.bytes, inUse: budget.inUse(), waiting: budget.waiting() }) });
  // sharp reports its operation cache in MB.
  metrics.caches.track('libvips', () => sharp.cache().memory.current * 1024 * 1024);
  const queue = observeOutcomes(runner, (type, outcome) => metrics.jobOutcomes.inc({ type, outcome }));
  const stagingDir = path.join(config.dataDir, 'tmp');
  const disk = createDiskSpace(localWriteDirs(config, stagingDir), config.minFreeDisk);
  // One secret signs sessions, share links and transform URLs, each under its own label.
  const signing = await loadOrCreateSecret(config.dataDir, 'signing_key', config.auth.jwtSecret);
  const variants = createVariants({
    store,
    budget: decoding.budget,
    decoders: { heic: (bytes) => decoding.heic.pipeline(bytes, { pixels: config.limits.pixels }), bmp: (bytes) => decoding.bmp.pipeline(bytes) },
    onRendered: (format) => metrics.variantsRendered.inc({ format }),
    pixelLimit: config.limits.pixels,
    rules: {
      presets: config.processing.presets,
      sizes: config.processing.sizes,
      qualities: config.processing.qualities,
      maxDimension: config.processing.maxDimension,
      signing: config.processing.signing,
      signingKey: `transform:${signing.value}`,
    },
  });
  const runs = createProcessingRuns(db);
  const processing = createProcessing({ catalog, store, variants, runs, extractExif: readExif, captioner: createCaptioner(config.captions) });
  const lifecycle = createImageLifecycle(catalog, store, options.imageEvents);
  const images = createImages(catalog, store, lifecycle, servable);
  const serving = createServing({ images, variants, store });
  const { webhooks, delivery } = setUpWebhooks(db, config);
  const trash = createTrash(catalog, images, lifecycle, config.trash.days);
  const albums = createAlbums(createAlbumsRepo(db), catalog);
  const accountsRepo = createAccountsRepo(db);
  const audit = createAudit(createAuditRepo(db), auditLines(logger.child({ component: 'audit' })));
  const accounts = createAccounts(accountsRepo, { registration: config.auth.registration, audit });
  const browserSessions = createBrowserSessions(createBrowserSessionsRepo(db), accountsRepo, audit, {
    lifetimeSeconds: config.auth.sessionLifetimeSeconds,
    idleSeconds: config.auth.sessionIdleSeconds,
  });
  const uploads = createUploads({
    catalog,
    store,
    stagingDir,
    limits: config.limits,
    allowedFormats: config.allowedFormats,
    stripLocation: config.processing.stripGps,
    stripExtras: config.processing.stripExtras,
    initialStatus: config.processing.enabled ? 'processing' : 'ready',
    jobsFor: uploadJobs(config),
    spendGrant: (actor) => accounts.spendUploadGrant(actor),
    onCommitted: () => {
      queue.wake();
      disk.noteWritten();
    },
    onAttempt: (outcome, code, bytes) => {
      metrics.uploads.inc({ outcome });
      if (outcome === 'success') metrics.uploadBytes.inc(bytes);
      else metrics.rejections.inc({ code: code ?? 'unknown' });
    },
    logAudit: audit.logCommitted,
    memoryBudget: UPLOAD_MEMORY_BYTES,
    onDiskFull: () => disk.noteFull(),
    decoding,
  });
  const resumable = createResumableUploads({
    repo: createResumableRepo(db),
    store,
    catalog,
    uploads,
    stagingDir,
    expirySeconds: config.uploadExpirySeconds,
  });
  const idempotency = createIdempotency(createIdempotencyRepo(db), {
    ttlSeconds: IDEMPOTENCY_KEY_SECONDS,
    // A request cannot run longer than its timeout; a running key older than that was left by a crash.
    holdMs: config.http.requestTimeoutMs + 60_000,
  });
  const tempDirs = storeTmpDir ? [stagingDir, storeTmpDir] : [stagingDir];
  await sweepStaleTemp(tempDirs, config.gcGraceSeconds, logger);
  const gc = (graceSeconds = config.gcGraceSeconds): Promise<GcReport> => collectGarbage({ catalog, store, tempDirs, graceSeconds, logger, resumable, idempotency });
  registerJobHandlers(queue, config, { processing, trash, disk, delivery, gc: () => gc(), logger });

  return {
    config,
    logger,
    db,
    catalog,
    store,
    queue,
    uploads,
    resumable,
    idempotency,
    images,
    webhooks,
    eventUrls,
    servable,
    serving,
    trash,
    albums,
    metrics,
    accounts,
    browserSessions,
    variants,
    processing,
    decoding,
    profileRecords: createProfileRecords(db),
    signingSecret: signing.value,
    processingStats: (since) => runs.stats(since),
    tempDirs,
    disk,
    gc,
    close: () => closeCore({ queue, decoding, db }),
  };
}

export async function createApp(config: Config, options: CoreOptions = {}): Promise<App> {
  // COMPAT's collisions are refused before anything opens (database, ports).
  const plan = planListeners(config);
  const core = await createCore(config, options);
  const adminToken = await loadAdminToken(config.dataDir, config.authToken);
  let publicUrl = config.publicUrl ?? derivedPublicUrl(config.host, config.port);
  const context: HttpContext = { ...core, ...credentialsContext(core, adminToken), publicUrl: () => publicUrl };
  const compat = await buildCompat(context, core.logger, plan);
  const http = await buildHttp(context, core.logger, compat.main);

  return {
    ...core,
    http,
    adminToken,
    publicUrl: () => publicUrl,
    profileUrl(name) {
      if (!config.compat.profiles.some((p) => p.name === name)) return undefined;
      const own = compat.listeners.find((l) => l.profiles.includes(name));
      return own ? derivedPublicUrl(config.host, own.port) : publicUrl;
    },
    async listen() {
      // Profile ports first: one in use refuses start-up before the main port has opened.
      await compat.listen();
      await http.listen({ port: config.port, host: config.host }).catch(async (err: unknown) => {
        await compat.close();
        throw err;
      });
      const address = http.server.address();
      if (!config.publicUrl && address && typeof address === 'object') publicUrl = derivedPublicUrl(config.host, address.port);
      core.eventUrls.base = publicUrl;
      // With Redis, start() also hands the outbox over, which every instance does.
      if (config.jobs.runWorkers || config.jobs.redisUrl) await core.queue.start();
      return publicUrl;
    },
    close: appShutdown(() => [http, ...compat.listeners.map((l) => l.http)], config.http.shutdownTimeoutMs, () => core.close()),
  };
}
