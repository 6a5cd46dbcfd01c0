// The one place that reads settings: environment (and an optional JSON file), validated, immutable.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { IMAGE_FORMATS, type ImageFormat } from './core/formats.js';
import { DEFAULT_QUALITIES, DEFAULT_SIZES, parsePresets, type VariantOptions } from './core/variants/variant-options.js';
import { PROFILE_NAMES, type ProfileName } from './http/compat/profile.js';
import { durationSeconds, settingSources, settingsReport, type SettingReport } from './config-report.js';

/** SVG is opt-in: it is sanitized, but librsvg still parses it, and libvips counts SVG as untrusted input. */
const DEFAULT_FORMATS = IMAGE_FORMATS.filter((f) => f !== 'svg');

const Settings = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  AUTH_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(sqlite:|postgres(ql)?://|file:|/|\\.)' })),
  STORAGE: Type.Union([Type.Literal('fs'), Type.Literal('s3')], { default: 'fs' }),
  S3_BUCKET: Type.Optional(Type.String({ minLength: 3, maxLength: 63 })),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false }),
  S3_PREFIX: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9!_.*()/-]{1,200}$' })),
  STORAGE_DIR: Type.Optional(Type.String({ minLength: 1 })),
  MAX_FILE_SIZE: Type.Integer({ minimum: 1, default: 20 * 1024 * 1024 }),
  MAX_FILES: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  MAX_PIXELS: Type.Integer({ minimum: 1, default: 40_000_000 }),
  MAX_PROGRESSIVE_PIXELS: Type.Integer({ minimum: 1, default: 25_000_000 }),
  MAX_DIMENSION: Type.Integer({ minimum: 1, default: 10_000 }),
  MAX_FRAMES: Type.Integer({ minimum: 1, default: 200 }),
  ALLOWED_FORMATS: Type.Array(Type.Union(IMAGE_FORMATS.map((f) => Type.Literal(f))), {
    minItems: 1,
    default: DEFAULT_FORMATS,
  }),
  CACHE_MAX_AGE: Type.Integer({ minimum: 0, default: 3600 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 120_000 }),
  CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  JOB_POLL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  JOB_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  JOB_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 20, default: 3 }),
  JOB_BACKOFF_MS: Type.Integer({ minimum: 1, default: 2000 }),
  RUN_WORKERS: Type.Boolean({ default: true }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_-]{1,64}$', default: 'imgd' }),
  WORKER_METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  JOB_LOCK_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  GC_INTERVAL_SECONDS: Type.Integer({ minimum: 0, default: 0 }),
  GC_GRACE_SECONDS: Type.Integer({ minimum: 0, default: 3600 }),
  MIN_FREE_DISK: Type.Integer({ minimum: 0, default: 100 * 1024 * 1024 }),
  UPLOAD_EXPIRY_SECONDS: Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 86_400 }),
  TRASH_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
  TRASH_PURGE_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 3600 }),
  REGISTRATION: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('invite')], { default: 'closed' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_EXPIRY_SECONDS: Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 3600 }),
  SESSION_LIFETIME: Type.Integer({ minimum: 300, maximum: 400 * 86_400, default: 30 * 86_400 }),
  SESSION_IDLE_TIMEOUT: Type.Integer({ minimum: 300, maximum: 400 * 86_400, default: 7 * 86_400 }),
  UPLOAD_TOKEN_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  TOKEN_EXPIRY_SECONDS: Type.Integer({ minimum: 1, maximum: 30 * 86_400, default: 900 }),
  TOKEN_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 600, default: 30 }),
  UPLOAD_TOKEN_OWNER: Type.Optional(Type.String({ minLength: 1 })),
  SHARE_MAX_SECONDS: Type.Integer({ minimum: 60, default: 30 * 86_400 }),
  RATE_LIMIT_LOGIN: Type.Integer({ minimum: 0, default: 10 }),
  RATE_LIMIT_REGISTER: Type.Integer({ minimum: 0, default: 5 }),
  RATE_LIMIT_UPLOAD: Type.Integer({ minimum: 0, default: 120 }),
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, default: 60 }),
  CORS_ORIGINS: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  PROCESSING: Type.Boolean({ default: true }),
  VARIANT_PRESETS: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}:\\d{1,5}(,[a-z][a-z0-9_-]{0,31}:\\d{1,5})*$', default: 'small:256,medium:1024' }),
  VARIANT_SIZES: Type.Array(Type.Integer({ minimum: 1, maximum: 16384 }), { minItems: 1, default: [...DEFAULT_SIZES] }),
  VARIANT_QUALITIES: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 1, default: [...DEFAULT_QUALITIES] }),
  VARIANT_MAX_DIMENSION: Type.Integer({ minimum: 16, maximum: 16384, default: 4096 }),
  TRANSFORM_SIGNING: Type.Union([Type.Literal('off'), Type.Literal('required')], { default: 'off' }),
  IMAGE_URLS: Type.Union([Type.Literal('keyed'), Type.Literal('name')], { default: 'keyed' }),
  SENDFILE: Type.Union([Type.Literal('off'), Type.Literal('x-accel')], { default: 'off' }),
  SENDFILE_PREFIX: Type.String({ pattern: '^/[A-Za-z0-9_./-]*/$', default: '/_imgd_blobs/' }),
  PUBLIC_TREE: Type.Boolean({ default: false }),
  PUBLIC_TREE_DIR: Type.Optional(Type.String({ minLength: 1 })),
  STORE_GROUP: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$' })),
  STRIP_GPS: Type.Boolean({ default: true }),
  STRIP_EXTRAS: Type.Boolean({ default: true }),
  SHARP_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
  SHARP_CACHE_MB: Type.Integer({ minimum: 0, maximum: 4096, default: 0 }),
  DECODE_MEMORY_MB: Type.Optional(Type.Integer({ minimum: 16, maximum: 1024 * 1024 })),
  DECODE_WAIT_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  DECODE_QUEUE: Type.Integer({ minimum: 0, maximum: 10_000, default: 32 }),
  DECODE_THREADS: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  DECODE_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 30_000 }),
  CAPTION_PROVIDER: Type.Union([Type.Literal('none'), Type.Literal('ollama'), Type.Literal('openai')], { default: 'none' }),
  CAPTION_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  CAPTION_MODEL: Type.Optional(Type.String({ minLength: 1 })),
  CAPTION_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  CAPTION_PROMPT: Type.String({ minLength: 1, default: 'Describe this image in one short sentence for alt text.' }),
  CAPTION_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 60_000 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 20, default: 10 }),
  WEBHOOK_BACKOFF_MS: Type.Integer({ minimum: 1, default: 30_000 }),
  WEBHOOK_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  WEBHOOK_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 256, default: 8 }),
  COMPAT: Type.Optional(Type.String()),
  /** Seed 002's JWT algorithm: imgd signs HS256 only, so any other value refuses start-up. */
  ALGORITHM: Type.Optional(Type.Literal('HS256')),
  /** Seed 004's deployment name, reported by s3_upload's /health. */
  ENVIRONMENT: Type.String({ minLength: 1, maxLength: 64, default: 'production' }),
});
type RawSettings = Static<typeof Settings>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** As configured; when unset the server derives it from the address it listens on. */
  readonly publicUrl: string | undefined;
  readonly authToken: string | undefined;
  readonly database: { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string };
  readonly storage:
    | { readonly kind: 'fs'; readonly dir: string }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly endpoint: string | undefined;
        readonly region: string;
        readonly accessKeyId: string | undefined;
        readonly secretAccessKey: string | undefined;
        readonly forcePathStyle: boolean;
        readonly prefix: string | undefined;
      };
  readonly limits: {
    readonly fileSize: number;
    readonly files: number;
    readonly pixels: number;
    /** Progressive JPEGs are decoded whole, not line by line: a lower bound on their size. */
    readonly progressivePixels: number;
    readonly dimension: number;
    readonly frames: number;
  };
  readonly allowedFormats: readonly ImageFormat[];
  readonly cacheMaxAge: number;
  /**
   * The shape of image URLs: `keyed` puts a random 96-bit key before the name (`/i/<key>/<filename>`), so a URL
   * cannot be guessed from a file name; `name` keeps seed 000's `/i/<filename>`. Only the chosen shape is routed.
   */
  readonly imageUrls: ImageUrlShape;
  /**
   * `x-accel`: behind nginx, a full GET of stored bytes is answered with its headers and `X-Accel-Redirect` to
   * `prefix` + the blob key, and nginx sends the file (deploy/nginx). Only with the disk store.
   */
  readonly sendfile: { readonly mode: 'off' } | { readonly mode: 'x-accel'; readonly prefix: string };
  /**
   * PUBLIC_TREE: a folder of hard links to the disk store's files, one per public original at its URL path, that nginx
   * serves without asking imgd (deploy/nginx). `group` (STORE_GROUP, a name or a number): the tree and its files are
   * readable by that group (750/640); without it they stay imgd's own (700/600), like the rest of the store.
   */
  readonly publicTree: { readonly enabled: false } | { readonly enabled: true; readonly dir: string; readonly group: string | undefined };
  readonly http: {
    readonly requestTimeoutMs: number;
    readonly connectionTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
    readonly trustProxy: boolean;
  };
  readonly logLevel: string;
  readonly jobs: {
    readonly pollMs: number;
    readonly concurrency: number;
    readonly attempts: number;
    readonly backoffMs: number;
    /** Whether `serve` runs job handlers itself; `imgd worker` always does. */
    readonly runWorkers: boolean;
    /** BullMQ on this Redis when set; the in-process, database-backed runner otherwise. */
    readonly redisUrl: string | undefined;
    readonly redisPrefix: string;
    /** `imgd worker` serves /metrics on this port (on HOST) when set: the job outcomes are counted where jobs run. */
    readonly workerMetricsPort: number | undefined;
    /** BullMQ: how long a job stays locked to a worker that stopped answering before another worker takes it over. */
    readonly lockMs: number;
  };
  readonly gcGraceSeconds: number;
  /** Readiness fails while a local folder imgd writes to (data dir, blobs, SQLite) has fewer bytes free. */
  readonly minFreeDisk: number;
  /** An unfinished resumable upload expires (and gc removes it and its bytes) this long after it was created. */
  readonly uploadExpirySeconds: number;
  /** With Redis, `gc` runs this often as one BullMQ job scheduler shared by every instance; 0 leaves it to `imgd gc`. */
  readonly gcIntervalSeconds: number;
  /** A deleted image waits in the trash this many days (0: a delete is for good at once), purged every purgeIntervalSeconds. */
  readonly trash: { readonly days: number; readonly purgeIntervalSeconds: number };
  readonly auth: {
    readonly registration: 'open' | 'closed' | 'invite';
    /** Signs JWTs and share URLs; generated into DATA_DIR when unset. */
    readonly jwtSecret: string | undefined;
    readonly jwtExpirySeconds: number;
    /** A browser session ends this long after sign-in, however much it is used. */
    readonly sessionLifetimeSeconds: number;
    /** ...and this long after it was last used (the sliding part). */
    readonly sessionIdleSeconds: number;
    /** Seed 003's shared secret for `ts.sig` upload tokens; those tokens are off when unset. */
    readonly uploadTokenSecret: string | undefined;
    readonly uploadTokenExpirySeconds: number;
    readonly clockSkewSeconds: number;
    /** Username that uploads made with seed-003 tokens belong to; none by default. */
    readonly uploadTokenOwner: string | undefined;
    readonly shareMaxSeconds: number;
  };
  /** Requests per window and client; 0 turns a limit off. */
  readonly rateLimits: { readonly login: number; readonly register: number; readonly upload: number; readonly windowSeconds: number };
  /** Origins allowed by CORS; empty means CORS is off. */
  readonly corsOrigins: readonly string[];
  readonly processing: {
    /** Background jobs (EXIF, variants, placeholder) run for every upload. */
    readonly enabled: boolean;
    readonly presets: Readonly<Record<string, VariantOptions>>;
    readonly sizes: readonly number[];
    readonly qualities: readonly number[];
    readonly maxDimension: number;
    readonly signing: 'off' | 'required';
    /** Remove GPS location from stored bytes at ingest; the owner still sees it in metadata. */
    readonly stripGps: boolean;
    /** Cut comments, unknown segments and chunks, and bytes after the image's end out of stored originals. */
    readonly stripExtras: boolean;
    readonly sharpConcurrency: number;
    readonly sharpCacheMb: number;
  };
  readonly decoding: {
    /** Bytes all decodes together may hold (uploads, jobs, variant requests). */
    readonly memoryBytes: number;
    /** How long a request waits for decode memory before it is answered 503. */
    readonly waitMs: number;
    /** Requests waiting for decode memory, and files waiting for each decoder pool's threads; past it, 503. */
    readonly queue: number;
    /** Threads of each decoder pool (HEIC, SVG). */
    readonly threads: number;
    /** A HEIC decode running longer is stopped and the upload refused. */
    readonly timeoutMs: number;
  };
  readonly captions:
    | { readonly provider: 'none' }
    | {
        readonly provider: 'ollama' | 'openai';
        readonly url: string;
        readonly model: string;
        readonly apiKey: string | undefined;
        readonly prompt: string;
        readonly timeoutMs: number;
      };
  readonly webhooks: {
    /** One try, from connecting to the end of the answer. */
    readonly timeoutMs: number;
    /** Tries of one delivery before it is given up and shown failed. */
    readonly maxAttempts: number;
    /** The wait before the second try; it doubles with every try after. */
    readonly backoffMs: number;
    /** Deliveries may reach private, loopback and link-local addresses (tests, a receiver on the same network). */
    readonly allowPrivate: boolean;
    /** Deliveries under way at once per worker, in a lane of their own beside JOB_CONCURRENCY's image jobs. */
    readonly concurrency: number;
  };
  /** The seeds' APIs served beside the native one (COMPAT, ../shared/COMPAT.md). */
  readonly compat: CompatSettings;
  /** Every setting's effective value (secrets masked) and where it came from, for the admin's settings page. */
  readonly report: readonly SettingReport[];
}

export type ImageUrlShape = 'keyed' | 'name';

export interface CompatProfileSetting {
  readonly name: ProfileName;
  /** A listener of its own; undefined (bare, or PORT itself) mounts it on the main listener. */
  readonly port: number | undefined;
}

export interface CompatSettings {
  readonly profiles: readonly CompatProfileSetting[];
  /** The profiles' size limit L: MAX_FILE_SIZE (MAX_BYTES) when set, else the seeds' 10 MiB, whatever imgd's own default. */
  readonly maxFileSize: number;
  /** attachments' extension list (ALLOWED_EXTENSIONS, lowercased); undefined: the seed's jpg, jpeg, png, gif, webp. */
  readonly allowedExtensions: readonly string[] | undefined;
  /** ENVIRONMENT, as s3_upload's /health reports it. */
  readonly environment: string;
}

/** Names the seeds used, accepted as aliases for ours. */
const ALIASES: Record<string, keyof RawSettings> = {
  UPLOAD_DIR: 'STORAGE_DIR',
  MAX_BYTES: 'MAX_FILE_SIZE',
  ALLOWED_EXTENSIONS: 'ALLOWED_FORMATS',
  SECRET_KEY: 'JWT_SECRET',
  AWS_BUCKET_NAME: 'S3_BUCKET',
  AWS_REGION: 'S3_REGION',
  AWS_ACCESS_KEY_ID: 'S3_ACCESS_KEY_ID',
  AWS_SECRET_ACCESS_KEY: 'S3_SECRET_ACCESS_KEY',
  MEDIA_SERVER_SECRET: 'UPLOAD_TOKEN_SECRET',
};

const EXTENSION_FORMATS: Record<string, ImageFormat> = { jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff', tiff: 'tiff', heif: 'heic' };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Source = Record<string, unknown>;

/** Builds the configuration from an environment-like map; throws ConfigError naming the bad setting. */
/** LOG_LEVEL as set, for the CLI's failures when the configuration itself could not be loaded. */
export const requestedLogLevel = (env: Record<string, string | undefined> = process.env): string | undefined => env.LOG_LEVEL;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const file = env.CONFIG_FILE ? readConfigFile(env.CONFIG_FILE) : {};
  const merged: Source = { ...file };
  // Which alias a value came from, so an error names the variable the operator actually set.
  const setAs: Record<string, string> = {};
  // Aliases first, so that our own name wins when both are set.
  for (const [alias, target] of Object.entries(ALIASES)) {
    if (env[alias]) {
      merged[target] = env[alias];
      setAs[target] = alias;
    }
  }
  // Seed 002 counts token lifetime in minutes.
  const minutes = env.ACCESS_TOKEN_EXPIRE_MINUTES;
  if (minutes) {
    // A bad value was silently ignored before; refuse it like any other bad setting.
    if (!/^\d+$/.test(minutes.trim())) {
      throw new ConfigError(`invalid setting ACCESS_TOKEN_EXPIRE_MINUTES=${JSON.stringify(minutes)}: Expected a whole number of minutes`);
    }
    merged.JWT_EXPIRY_SECONDS = Number(minutes) * 60;
    setAs.JWT_EXPIRY_SECONDS = 'ACCESS_TOKEN_EXPIRE_MINUTES';
  }
  for (const name of Object.keys(Settings.properties)) {
    if (env[name]) {
      merged[name] = env[name];
      delete setAs[name];
    }
  }
  const raw = parseSettings(merged, setAs);
  // Seed 002's list stays as written for its own check; as an alias it also narrowed ALLOWED_FORMATS above.
  const extensions = env.ALLOWED_EXTENSIONS?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const sources = settingSources(Object.keys(Settings.properties), env, file, setAs, env.CONFIG_FILE);
  const report = settingsReport(raw as Record<string, unknown>, sources, SECRET_SETTINGS);
  return Object.freeze({ ...toConfig(raw, merged.MAX_FILE_SIZE !== undefined, extensions?.length ? extensions : undefined), report });
}

/** Settings whose values are never repeated in an error message (it ends up on stderr and in logs). */
const SECRET_SETTINGS = new Set(['AUTH_TOKEN', 'JWT_SECRET', 'UPLOAD_TOKEN_SECRET', 'S3_SECRET_ACCESS_KEY', 'CAPTION_API_KEY']);

function readConfigFile(file: string): Source {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Source;
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseSettings(source: Source, setAs: Record<string, string> = {}): RawSettings {
  const unknown = Object.keys(source).filter((k) => !(k in Settings.properties));
  if (unknown.length > 0) throw new ConfigError(`unknown setting(s) in CONFIG_FILE: ${unknown.join(', ')}`);
  const prepared: Source = {};
  for (const [name, value] of Object.entries(source)) prepared[name] = coerce(name, value);
  const withDefaults = Value.Default(Settings, prepared);
  const first = Value.Errors(Settings, withDefaults).First();
  if (first) {
    const name = first.path.split('/')[1] ?? first.path;
    const shown = SECRET_SETTINGS.has(name) ? '[redacted]' : JSON.stringify(source[name]);
    const alias = setAs[name];
    const label = alias ? `${alias}=${shown} (read as ${name})` : `${name}=${shown}`;
    throw new ConfigError(`invalid setting ${label}: ${first.message}`);
  }
  return withDefaults as RawSettings;
}

/** Python's level names (seed 004), in any case, and ours in any case. */
const SEED_LOG_LEVELS: Record<string, string> = { warning: 'warn', critical: 'fatal' };

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Turns environment strings into the types the schema expects; leaves bad values for the schema to name. */
function coerce(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const schema = Settings.properties[name as keyof RawSettings];
  const type = (schema as { type?: string }).type;
  if (name === 'MAX_FILE_SIZE' || name === 'MIN_FREE_DISK') {
    const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    return m && unit ? Number(m[1]) * unit : value;
  }
  if (name === 'SESSION_LIFETIME' || name === 'SESSION_IDLE_TIMEOUT') return durationSeconds(value);
  if (name === 'LOG_LEVEL') return SEED_LOG_LEVELS[value.trim().toLowerCase()] ?? value.trim().toLowerCase();
  if (name === 'CORS_ORIGINS') return value.split(',').map((s) => s.trim()).filter(Boolean);
  if (name === 'VARIANT_SIZES' || name === 'VARIANT_QUALITIES') {
    return value.split(',').map((s) => (/^\s*\d+\s*$/.test(s) ? Number(s) : s.trim()));
  }
  if (name === 'ALLOWED_FORMATS') {
    const list = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    return [...new Set(list.map((s) => EXTENSION_FORMATS[s] ?? s))];
  }
  if (type === 'integer') return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (type === 'boolean') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
  }
  return value;
}

function parseDatabase(url: string | undefined, dataDir: string): Config['database'] {
  if (!url) return { kind: 'sqlite', file: path.join(dataDir, 'imgd.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  // sqlite:///relative.db and sqlite:////abs.db (SQLAlchemy style, seed 002), file:x.db, or a plain path
  const stripped = url.replace(/^sqlite:\/\/\//, '').replace(/^sqlite:/, '').replace(/^file:/, '');
  if (!stripped) throw new ConfigError(`invalid setting DATABASE_URL=${JSON.stringify(url)}: no file named`);
  return { kind: 'sqlite', file: path.resolve(stripped) };
}

function publicTreeSettings(raw: RawSettings, dataDir: string): Config['publicTree'] {
  if (!raw.PUBLIC_TREE) return { enabled: false };
  if (raw.STORAGE === 's3') throw new ConfigError('invalid setting PUBLIC_TREE: needs STORAGE=fs (nginx serves the public tree from the disk store\'s files)');
  return { enabled: true, dir: path.resolve(raw.PUBLIC_TREE_DIR ?? path.join(dataDir, 'public')), group: raw.STORE_GROUP };
}

function sendfileSettings(raw: RawSettings): Config['sendfile'] {
  if (raw.SENDFILE === 'off') return { mode: 'off' };
  if (raw.STORAGE === 's3') throw new ConfigError('invalid setting SENDFILE: x-accel needs STORAGE=fs (nginx reads the files of the disk store)');
  if (raw.SENDFILE_PREFIX.split('/').some((part) => part === '..' || part === '.')) throw new ConfigError('invalid setting SENDFILE_PREFIX: no . or .. segments');
  return { mode: 'x-accel', prefix: raw.SENDFILE_PREFIX };
}

function storageSettings(raw: RawSettings, dataDir: string): Config['storage'] {
  if (raw.STORAGE === 'fs') return { kind: 'fs', dir: path.resolve(raw.STORAGE_DIR ?? path.join(dataDir, 'blobs')) };
  if (!raw.S3_BUCKET) throw new ConfigError('invalid setting S3_BUCKET: required when STORAGE=s3');
  if (Boolean(raw.S3_ACCESS_KEY_ID) !== Boolean(raw.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError('invalid setting S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: give both, or neither to use the AWS default credentials');
  }
  return {
    kind: 's3',
    bucket: raw.S3_BUCKET,
    endpoint: raw.S3_ENDPOINT,
    region: raw.S3_REGION,
    accessKeyId: raw.S3_ACCESS_KEY_ID,
    secretAccessKey: raw.S3_SECRET_ACCESS_KEY,
    forcePathStyle: raw.S3_FORCE_PATH_STYLE,
    prefix: raw.S3_PREFIX,
  };
}

function captionSettings(raw: RawSettings): Config['captions'] {
  if (raw.CAPTION_PROVIDER === 'none') return { provider: 'none' };
  for (const name of ['CAPTION_URL', 'CAPTION_MODEL'] as const) {
    if (!raw[name]) throw new ConfigError(`invalid setting ${name}: required when CAPTION_PROVIDER=${raw.CAPTION_PROVIDER}`);
  }
  return {
    provider: raw.CAPTION_PROVIDER,
    url: raw.CAPTION_URL!.replace(/\/+$/, ''),
    model: raw.CAPTION_MODEL!,
    apiKey: raw.CAPTION_API_KEY,
    prompt: raw.CAPTION_PROMPT,
    timeoutMs: raw.CAPTION_TIMEOUT_MS,
  };
}

/**
 * A quarter of the memory this process may use (its cgroup's limit when lower than the machine's), between 256 MB
 * and 2 GB: room for several full-size decodes at once, and plenty left for the rest of the process.
 */
function defaultDecodeMemoryMb(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
  return Math.min(2048, Math.max(256, Math.floor(available / 4 / 1024 / 1024)));
}

/** The seeds' size limit (their "10 MB"). */
const SEED_MAX_FILE_SIZE = 10 * 1024 * 1024;

/** COMPAT=<profile>[:<port>],...: known profiles, each once, ports in range; PORT itself means the main listener. */
function parseCompat(value: string | undefined, raw: RawSettings): CompatProfileSetting[] {
  if (value === undefined || value.trim() === '') return [];
  const refuse = (why: string): ConfigError => new ConfigError(`invalid setting COMPAT=${JSON.stringify(value)}: ${why}`);
  const profiles: CompatProfileSetting[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    const m = /^([^:]*)(?::(.*))?$/.exec(item)!;
    const name = m[1]!.trim();
    if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
      throw refuse(`unknown profile ${JSON.stringify(name)}; the profiles are ${PROFILE_NAMES.join(', ')}`);
    }
    if (profiles.some((p) => p.name === name)) throw refuse(`profile ${name} is given twice`);
    let port: number | undefined;
    if (m[2] !== undefined) {
      port = /^\d{1,5}$/.test(m[2].trim()) ? Number(m[2].trim()) : NaN;
      if (!(port >= 1 && port <= 65535)) throw refuse(`port ${JSON.stringify(m[2])} of ${name} is not a port (1-65535)`);
      if (port === raw.PORT) port = undefined;
    }
    profiles.push({ name: name as ProfileName, port });
  }
  if (profiles.some((p) => p.name === 'media_server') && !raw.UPLOAD_TOKEN_SECRET) {
    throw refuse('media_server needs MEDIA_SERVER_SECRET (or UPLOAD_TOKEN_SECRET), the secret its upload tokens are signed with');
  }
  return profiles;
}

function toConfig(raw: RawSettings, fileSizeSet = false, allowedExtensions?: readonly string[]): Omit<Config, 'report'> {
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

/** The storage settings as they would be with STORAGE=kind and the rest of the same environment: the other side of `imgd migrate-storage`. */
export function storageAs(kind: Config['storage']['kind'], env: Record<string, string | undefined> = process.env): Config['storage'] {
  return loadConfig({ ...env, STORAGE: kind }).storage;
}

/** The URL clients reach a server on host:port at, when PUBLIC_URL does not say. */
export function derivedPublicUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** What `imgd upload`, a client of a server (this machine's or another's), takes from the environment. */
export interface UploadClientSettings {
  /** PUBLIC_URL, else http://HOST:PORT: where `imgd serve` with the same settings answers. */
  readonly server: string;
  /** IMGD_TOKEN, else AUTH_TOKEN. */
  readonly token: string | undefined;
  /** DATA_DIR/auth_token: the admin token a local server generated. */
  readonly tokenFile: string;
  /** Where unfinished uploads are remembered: $XDG_STATE_HOME/imgd/uploads.json (~/.local/state by default). */
  readonly stateFile: string;
}

export function uploadClientSettings(env: Record<string, string | undefined> = process.env): UploadClientSettings {
  let server: string;
  try {
    const config = loadConfig(env);
    server = config.publicUrl ?? derivedPublicUrl(config.host, config.port);
  } catch {
    // The server's settings are its own business; a client with odd ones still has a sensible default.
    server = derivedPublicUrl('127.0.0.1', 8080);
  }
  const stateBase = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return {
    server,
    token: env.IMGD_TOKEN || env.AUTH_TOKEN || undefined,
    tokenFile: path.join(path.resolve(env.DATA_DIR || './data'), 'auth_token'),
    stateFile: path.join(stateBase, 'imgd', 'uploads.json'),
  };
}
