// The one place that reads settings: environment (and an optional JSON file), validated, immutable.
// The sections live in src/config/: the Config type, coercion of raw values, the sections, the build of the frozen value.
import os from 'node:os';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { IMAGE_FORMATS } from './core/formats.js';
import { DEFAULT_QUALITIES, DEFAULT_SIZES } from './core/variants/variant-options.js';
import { settingSources, settingsReport } from './config-report.js';
import { toConfig } from './config/build.js';
import { coerce, readConfigFile, type Source } from './config/coerce.js';
import { ConfigError } from './config/error.js';
import type { Config } from './config/types.js';

export { ConfigError } from './config/error.js';
export type { CompatProfileSetting, CompatSettings, Config, ImageUrlShape } from './config/types.js';

export { IMAGE_FORMATS, type ImageFormat } from './core/formats.js';
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
  SENDFILE_CACHE_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 1 }),
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
export type RawSettings = Static<typeof Settings>;

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


/** LOG_LEVEL as set, for the CLI's failures when the configuration itself could not be loaded. */
export const requestedLogLevel = (env: Record<string, string | undefined> = process.env): string | undefined => env.LOG_LEVEL;

/** Builds the configuration from an environment-like map; throws ConfigError naming the bad setting. */
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

function parseSettings(source: Source, setAs: Record<string, string> = {}): RawSettings {
  const unknown = Object.keys(source).filter((k) => !(k in Settings.properties));
  if (unknown.length > 0) throw new ConfigError(`unknown setting(s) in CONFIG_FILE: ${unknown.join(', ')}`);
  const prepared: Source = {};
  for (const [name, value] of Object.entries(source)) prepared[name] = coerce(name, value, (Settings.properties[name as keyof RawSettings] as { type?: string }).type);
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
