// The composition root: builds the database, stores, queue, core and HTTP server from the config.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { loadAdminToken, loadOrCreateSecret, type AdminToken } from './auth/admin-token.js';
import { createCredentialResolver, createSessionCookieResolver } from './auth/credentials.js';
import { createSessionTokens } from './auth/jwt.js';
import { createShareSigner } from './auth/share-urls.js';
import { createAccounts, type Accounts, type Audit } from './core/accounts/accounts.js';
import { describeActor } from './core/access/actor.js';
import { createAccountsRepo } from './db/accounts.js';
import { createBrowserSessionsRepo } from './db/browser-sessions.js';
import { createBrowserSessions, type BrowserSessions } from './core/accounts/browser-sessions.js';
import { csrfTokens } from './http/session-cookies.js';
import { derivedPublicUrl, type Config } from './config.js';
import type { Catalog } from './core/images/catalog.js';
import { clearStaleTemp, collectGarbage, type GcReport } from './core/storage/gc.js';
import { createPrivately, tightenDataDir } from './ops/private-files.js';
import { createImages, type Images } from './core/images/images.js';
import { forgettingChanges, ServableIndex } from './core/images/servable-index.js';
import { createServing, type Serving } from './core/images/serving.js';
import { createUploads } from './core/upload/uploads.js';
import type { Uploads } from './core/upload/upload-api.js';
import { createResumableUploads, type Resumable } from './core/upload/resumable.js';
import { createResumableRepo } from './db/resumable-uploads.js';
import { createIdempotency, type Idempotency } from './core/upload/idempotency.js';
import { createIdempotencyRepo } from './db/idempotency-keys.js';
import { createCatalog } from './db/catalog.js';
import { openDatabase, type Db } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import type { HttpContext } from './http/context.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { buildHttp } from './http/server.js';
import { buildCompat, planListeners } from './http/compat/index.js';
import type { ProfileName } from './http/compat/profile.js';
import { createLocalQueue } from './jobs/local.js';
import { observeOutcomes } from './jobs/observed.js';
import { createCaptioner } from './captions/providers.js';
import { readExif } from './core/metadata/exif.js';
import { createProcessing, type Processing, type StepStats } from './core/jobs/processing.js';
import { CAPTION_JOB, GC_JOB, PROCESS_JOB, TRASH_PURGE_JOB, type JobRequest } from './core/jobs/jobs.js';
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
import { createLogger } from './logging.js';
import type { BlobStore } from './core/storage/blob-store.js';
import { createFsStore } from './store/fs.js';
import { withPublicTree } from './store/public-tree-setup.js';
import { createDiskSpace, type DiskSpace } from './core/storage/disk-space.js';
import { isDiskFull } from './core/outages.js';
import type { Webhooks } from './core/webhooks/webhooks.js';
import { setUpWebhooks, webhookEventRecorder } from './webhooks/setup.js';

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
  /** Images behind serving URLs, held a moment in memory; every change through `catalog` forgets there at once. */
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

/** The configured blob store; the AWS SDK is loaded only when S3 is configured (it takes a while to load). */
export async function openStore(storage: Config['storage']): Promise<{ store: BlobStore; storeTmpDir: string | undefined }> {
  if (storage.kind === 'fs') {
    const fsStore = createFsStore(storage.dir);
    return { store: fsStore, storeTmpDir: fsStore.tmpDir };
  }
  const { kind: _kind, ...options } = storage;
  const { createS3Store } = await import('./store/s3.js');
  return { store: createS3Store(options), storeTmpDir: undefined };
}

/** Everything but HTTP: what the CLI's maintenance commands need. */
export async function createCore(config: Config, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? createLogger(config.logLevel);
  createPrivately();
  await mkdir(config.dataDir, { recursive: true });
  // libvips' operation cache keeps a cached load's decoder alive, and a progressive JPEG's decoder holds every DCT
  // coefficient (3-6 bytes a pixel) outside the cache's own accounting: off unless SHARP_CACHE_MB asks for it.
  sharp.cache(config.processing.sharpCacheMb > 0 ? { memory: config.processing.sharpCacheMb, files: 0, items: 200 } : false);
  sharp.concurrency(config.processing.sharpConcurrency);

  const db = openDatabase(config.database, (err) => logger.warn({ err: err.message }, 'database connection lost; the next query opens a new one'));
  await migrateToLatest(db);
  await tightenDataDir(config.dataDir, { sqlite: config.database.kind === 'sqlite' ? config.database.file : undefined, blobDir: config.storage.kind === 'fs' ? config.storage.dir : undefined });
  const eventUrls = { base: config.publicUrl ?? derivedPublicUrl(config.host, config.port) };
  // The variants an image object lists, as the image routes list them.
  const presets = config.processing.enabled ? Object.keys(config.processing.presets) : [];
  const events = webhookEventRecorder(db, config, { publicUrl: () => eventUrls.base, presets });
  const stored = createCatalog(db, { groupCommits: config.database.kind === 'sqlite', events });
  const servable = new ServableIndex(stored);
  const catalog = await withPublicTree(config, forgettingChanges(stored, servable), logger);
  const jobsRepo = createJobsRepo(db);
  const { store, storeTmpDir } = await openStore(config.storage);
  const jobLogger = logger.child({ component: 'jobs' });
  const trashPurge = { type: TRASH_PURGE_JOB, everyMs: config.trash.purgeIntervalSeconds * 1000 };
  // BullMQ and ioredis are loaded only when Redis is configured.
  const runner = config.jobs.redisUrl
    ? (await import('./jobs/bullmq.js')).createBullQueue(jobsRepo, jobLogger, {
        redisUrl: config.jobs.redisUrl,
        prefix: config.jobs.redisPrefix,
        concurrency: config.jobs.concurrency,
        runWorkers: options.worker ?? config.jobs.runWorkers,
        relayMs: config.jobs.pollMs,
        lockMs: config.jobs.lockMs,
        repeats: [...(config.gcIntervalSeconds > 0 ? [{ type: GC_JOB, everyMs: config.gcIntervalSeconds * 1000 }] : []), trashPurge],
      })
    : createLocalQueue(jobsRepo, jobLogger, {
        pollMs: config.jobs.pollMs,
        concurrency: config.jobs.concurrency,
        reclaimOnStart: config.database.kind === 'sqlite',
        repeats: [trashPurge],
      });
  // This app's own threads and budget: another app in the same process (tests, the CLI) has its own, and closing one leaves the other working.
  const decoding = createDecoding(config.decoding);
  const { budget } = decoding;
  const metrics = createMetrics({ queueDepth: () => runner.depth(), decodeBudget: () => ({ bytes: budget.bytes, inUse: budget.inUse(), waiting: budget.waiting() }) });
  // sharp reports its operation cache in MB.
  metrics.caches.track('libvips', () => sharp.cache().memory.current * 1024 * 1024);
  const queue = observeOutcomes(runner, (type, outcome) => metrics.jobOutcomes.inc({ type, outcome }));
  const stagingDir = path.join(config.dataDir, 'tmp');
  const disk = createDiskSpace(
    [config.dataDir, stagingDir, ...(config.storage.kind === 'fs' ? [config.storage.dir] : []), ...(config.database.kind === 'sqlite' ? [path.dirname(config.database.file)] : [])],
    config.minFreeDisk,
  );
  /** A job that found no space waits it out (outage-policy.ts); readiness hears of it, and of the next job that wrote. */
  const noticingDiskFull =
    <T,>(run: (payload: T) => Promise<void>) =>
    async (payload: T): Promise<void> => {
      try {
        await run(payload);
        disk.noteWritten();
      } catch (err) {
        if (isDiskFull(err)) disk.noteFull();
        throw err;
      }
    };
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
  const processingOn = config.processing.enabled;
  if (processingOn) {
    queue.register<{ imageId: string }>(PROCESS_JOB, noticingDiskFull(({ imageId }) => processing.process(imageId)), {
      maxAttempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
      onFailed: ({ imageId }, error) => processing.markFailed(imageId, error.message),
    });
    // A caption that cannot be made leaves the image as it is: no failure handler here.
    queue.register<{ imageId: string }>(CAPTION_JOB, noticingDiskFull(({ imageId }) => processing.caption(imageId)), {
      maxAttempts: Math.min(2, config.jobs.attempts),
      backoffMs: config.jobs.backoffMs,
    });
  }
  const lifecycle = createImageLifecycle(catalog, store, options.imageEvents);
  const images = createImages(catalog, store, lifecycle, servable);
  const serving = createServing({ images, variants, store });
  const webhooks = setUpWebhooks(db, config, queue);
  const trash = createTrash(catalog, images, lifecycle, config.trash.days);
  const albums = createAlbums(createAlbumsRepo(db), catalog);
  queue.register(TRASH_PURGE_JOB, async () => {
    const purged = await trash.purgeExpired();
    if (purged > 0) logger.info({ purged }, 'purged expired trash');
  }, { maxAttempts: 1 });
  const accountsRepo = createAccountsRepo(db);
  const auditLogger = logger.child({ component: 'audit' });
  const audit: Audit = {
    async record(actor, action, target, ip, details) {
      const who = typeof actor === 'string' ? actor : describeActor(actor);
      await accountsRepo.audit({ actor: who, action, target, ip, ...(details && { details }) });
      auditLogger.info({ audit: { actor: who, action, target, ip, ...details } }, action);
    },
  };
  const accounts = createAccounts(accountsRepo, { registration: config.auth.registration, audit });
  const browserSessions = createBrowserSessions(createBrowserSessionsRepo(db), accountsRepo, audit, {
    lifetimeSeconds: config.auth.sessionLifetimeSeconds,
    idleSeconds: config.auth.sessionIdleSeconds,
  });
  const jobsFor = (imageId: string): JobRequest[] => {
    if (!processingOn) return [];
    const jobs: JobRequest[] = [{ type: PROCESS_JOB, payload: { imageId }, maxAttempts: config.jobs.attempts }];
    if (config.captions.provider !== 'none') jobs.push({ type: CAPTION_JOB, payload: { imageId }, maxAttempts: Math.min(2, config.jobs.attempts) });
    return jobs;
  };
  const uploads = createUploads({
    catalog,
    store,
    stagingDir,
    limits: config.limits,
    allowedFormats: config.allowedFormats,
    stripLocation: config.processing.stripGps,
    stripExtras: config.processing.stripExtras,
    initialStatus: processingOn ? 'processing' : 'ready',
    jobsFor,
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
    logAudit: ({ details, ...entry }) => auditLogger.info({ audit: { ...entry, ...details } }, entry.action),
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
  // What a crash left staged goes at start, not only at the next gc; younger files may be an upload of another process.
  // An unusable folder does not stop the start: readiness reports the store.
  const staleTemp = await clearStaleTemp(tempDirs, config.gcGraceSeconds).catch((err: Error) => {
    logger.warn({ err: err.message }, 'could not clear stale staged files at start');
    return 0;
  });
  if (staleTemp > 0) logger.info({ tempFiles: staleTemp }, 'removed stale staged files at start');
  // The scheduled gc runs on whichever worker takes it: the shared store's blobs, and that machine's temp files.
  queue.register(GC_JOB, async () => {
    await collectGarbage({ catalog, store, tempDirs, graceSeconds: config.gcGraceSeconds, logger, resumable, idempotency });
  }, { maxAttempts: 1 });

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
    gc: (graceSeconds = config.gcGraceSeconds) => collectGarbage({ catalog, store, tempDirs, graceSeconds, logger, resumable, idempotency }),
    async close() {
      await queue.stop();
      await decoding.close();
      await db.destroy();
    },
  };
}

/** Stops accepting, lets in-flight requests finish (uploads included), then closes; a stuck client cannot hold it past timeoutMs. */
async function drain(http: FastifyInstance, timeoutMs: number): Promise<void> {
  // Connections busy when close() began are idle moments later: close them as they get there,
  // and a client that stops reading altogether must not hold the shutdown forever.
  const sweep = setInterval(() => http.server.closeIdleConnections(), 100);
  const force = setTimeout(() => http.server.closeAllConnections(), timeoutMs);
  force.unref();
  try {
    await http.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(force);
  }
}

export async function createApp(config: Config, options: CoreOptions = {}): Promise<App> {
  // COMPAT's collisions are refused before anything opens (database, ports).
  const plan = planListeners(config);
  const core = await createCore(config, options);
  const adminToken = await loadAdminToken(config.dataDir, config.authToken);
  let publicUrl = config.publicUrl ?? derivedPublicUrl(config.host, config.port);
  const sessions = createSessionTokens(`jwt:${core.signingSecret}`, config.auth.jwtExpirySeconds);
  const shares = createShareSigner(`share:${core.signingSecret}`);
  const accountsRepo = createAccountsRepo(core.db);
  const albumShares = createShareSigner(`share:${core.signingSecret}`, 'album');
  const resolveCredential = createCredentialResolver({
    adminToken: adminToken.token,
    sessions,
    repo: accountsRepo,
    hmac: config.auth.uploadTokenSecret
      ? { secret: config.auth.uploadTokenSecret, expirySeconds: config.auth.uploadTokenExpirySeconds, skewSeconds: config.auth.clockSkewSeconds }
      : undefined,
    hmacOwner: config.auth.uploadTokenOwner,
  });
  const context: HttpContext = {
    ...core,
    resolveCredential,
    resolveSessionCookie: createSessionCookieResolver(accountsRepo, core.browserSessions),
    csrfToken: csrfTokens(`csrf:${core.signingSecret}`),
    sessions,
    shares,
    albumShares,
    publicUrl: () => publicUrl,
  };
  const compat = await buildCompat(context, core.logger, plan);
  const http = await buildHttp(context, core.logger, compat.main);
  let closing: Promise<void> | undefined;

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
    close() {
      // Every listener drains, then jobs and the database stop.
      closing ??= (async () => {
        await Promise.all([http, ...compat.listeners.map((l) => l.http)].map((server) => drain(server, config.http.shutdownTimeoutMs)));
        await core.close();
      })();
      return closing;
    },
  };
}
