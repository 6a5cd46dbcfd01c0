// The shape of the configuration: what every part of imgd may read, validated and frozen by loadConfig.
import type { ImageFormat } from '../core/formats.js';
import type { SettingReport } from '../config-report.js';
import type { VariantRules } from '../core/variants/variant-options.js';
import type { ProfileName } from '../http/compat/profile.js';

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
   * `prefix` + the blob key, and nginx sends the file (deploy/nginx). Only with the disk store. `cacheSeconds`
   * (SENDFILE_CACHE_SECONDS): how long nginx's micro-cache may keep a full answer anyone may have (X-Accel-Expires).
   */
  readonly sendfile: { readonly mode: 'off' } | { readonly mode: 'x-accel'; readonly prefix: string; readonly cacheSeconds: number };
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
  /** The variant rules (presets, allowlists, signing) as core/variants takes them, less the key, which is a secret. */
  readonly processing: Omit<VariantRules, 'signingKey'> & {
    /** Background jobs (EXIF, variants, placeholder) run for every upload. */
    readonly enabled: boolean;
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
