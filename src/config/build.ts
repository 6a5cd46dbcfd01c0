// The validated settings turned into the immutable Config the rest of imgd reads.
import os from 'node:os';
import path from 'node:path';
import type { RawSettings } from '../config.js';
import type { ImageFormat } from '../core/formats.js';
import { parsePresets } from '../core/variants/variant-options.js';
import { captionSettings, defaultDecodeMemoryMb, parseCompat, parseDatabase, SEED_MAX_FILE_SIZE, publicTreeSettings, sendfileSettings, storageSettings } from './sections.js';
import type { Config } from './types.js';

export function toConfig(raw: RawSettings, fileSizeSet = false, allowedExtensions?: readonly string[]): Omit<Config, 'report'> {
  const dataDir = path.resolve(raw.DATA_DIR);
  return Object.freeze({
    port: raw.PORT,
    host: raw.HOST,
    dataDir,
    publicUrl: raw.PUBLIC_URL?.replace(/\/+$/, ''),
    authToken: raw.AUTH_TOKEN,
    database: parseDatabase(raw.DATABASE_URL, dataDir),
    storage: storageSettings(raw, dataDir),
    limits: {
      fileSize: raw.MAX_FILE_SIZE,
      files: raw.MAX_FILES,
      pixels: raw.MAX_PIXELS,
      progressivePixels: Math.min(raw.MAX_PROGRESSIVE_PIXELS, raw.MAX_PIXELS),
      dimension: raw.MAX_DIMENSION,
      frames: raw.MAX_FRAMES,
    },
    allowedFormats: raw.ALLOWED_FORMATS as ImageFormat[],
    cacheMaxAge: raw.CACHE_MAX_AGE,
    imageUrls: raw.IMAGE_URLS,
    sendfile: sendfileSettings(raw),
    publicTree: publicTreeSettings(raw, dataDir),
    http: {
      requestTimeoutMs: raw.REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: raw.CONNECTION_TIMEOUT_MS,
      shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_MS,
      trustProxy: raw.TRUST_PROXY,
    },
    logLevel: raw.LOG_LEVEL,
    jobs: {
      pollMs: raw.JOB_POLL_MS,
      concurrency: raw.JOB_CONCURRENCY,
      attempts: raw.JOB_ATTEMPTS,
      backoffMs: raw.JOB_BACKOFF_MS,
      runWorkers: raw.RUN_WORKERS,
      redisUrl: raw.REDIS_URL,
      redisPrefix: raw.REDIS_PREFIX,
      workerMetricsPort: raw.WORKER_METRICS_PORT,
      lockMs: raw.JOB_LOCK_MS,
    },
    gcGraceSeconds: raw.GC_GRACE_SECONDS,
    minFreeDisk: raw.MIN_FREE_DISK,
    uploadExpirySeconds: raw.UPLOAD_EXPIRY_SECONDS,
    gcIntervalSeconds: raw.GC_INTERVAL_SECONDS,
    trash: { days: raw.TRASH_DAYS, purgeIntervalSeconds: raw.TRASH_PURGE_INTERVAL_SECONDS },
    auth: {
      registration: raw.REGISTRATION,
      jwtSecret: raw.JWT_SECRET,
      jwtExpirySeconds: raw.JWT_EXPIRY_SECONDS,
      sessionLifetimeSeconds: raw.SESSION_LIFETIME,
      sessionIdleSeconds: raw.SESSION_IDLE_TIMEOUT,
      uploadTokenSecret: raw.UPLOAD_TOKEN_SECRET,
      uploadTokenExpirySeconds: raw.TOKEN_EXPIRY_SECONDS,
      clockSkewSeconds: raw.TOKEN_CLOCK_SKEW_SECONDS,
      uploadTokenOwner: raw.UPLOAD_TOKEN_OWNER,
      shareMaxSeconds: raw.SHARE_MAX_SECONDS,
    },
    rateLimits: {
      login: raw.RATE_LIMIT_LOGIN,
      register: raw.RATE_LIMIT_REGISTER,
      upload: raw.RATE_LIMIT_UPLOAD,
      windowSeconds: raw.RATE_LIMIT_WINDOW_SECONDS,
    },
    corsOrigins: raw.CORS_ORIGINS,
    processing: {
      enabled: raw.PROCESSING,
      presets: parsePresets(raw.VARIANT_PRESETS),
      sizes: raw.VARIANT_SIZES,
      qualities: raw.VARIANT_QUALITIES,
      maxDimension: raw.VARIANT_MAX_DIMENSION,
      signing: raw.TRANSFORM_SIGNING,
      stripGps: raw.STRIP_GPS,
      stripExtras: raw.STRIP_EXTRAS,
      sharpConcurrency: raw.SHARP_CONCURRENCY,
      sharpCacheMb: raw.SHARP_CACHE_MB,
    },
    decoding: {
      memoryBytes: (raw.DECODE_MEMORY_MB ?? defaultDecodeMemoryMb()) * 1024 * 1024,
      waitMs: raw.DECODE_WAIT_MS,
      queue: raw.DECODE_QUEUE,
      threads: raw.DECODE_THREADS ?? os.availableParallelism(),
      timeoutMs: raw.DECODE_TIMEOUT_MS,
    },
    captions: captionSettings(raw),
    webhooks: {
      timeoutMs: raw.WEBHOOK_TIMEOUT_MS,
      maxAttempts: raw.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: raw.WEBHOOK_BACKOFF_MS,
      allowPrivate: raw.WEBHOOK_ALLOW_PRIVATE,
      concurrency: raw.WEBHOOK_CONCURRENCY,
    },
    compat: {
      profiles: parseCompat(raw.COMPAT, raw),
      maxFileSize: fileSizeSet ? raw.MAX_FILE_SIZE : SEED_MAX_FILE_SIZE,
      allowedExtensions,
      environment: raw.ENVIRONMENT,
    },
  });
}
