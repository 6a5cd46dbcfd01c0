// The sections of the configuration that take more than copying a setting: database, storage, sendfile, captions, decode memory, COMPAT.
import os from 'node:os';
import path from 'node:path';
import type { RawSettings } from '../config.js';
import { PROFILE_NAMES, type ProfileName } from '../http/compat/profile.js';
import { ConfigError } from './error.js';
import type { CompatProfileSetting, Config } from './types.js';

export function parseDatabase(url: string | undefined, dataDir: string): Config['database'] {
  if (!url) return { kind: 'sqlite', file: path.join(dataDir, 'imgd.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  // sqlite:///relative.db and sqlite:////abs.db (SQLAlchemy style, seed 002), file:x.db, or a plain path
  const stripped = url.replace(/^sqlite:\/\/\//, '').replace(/^sqlite:/, '').replace(/^file:/, '');
  if (!stripped) throw new ConfigError(`invalid setting DATABASE_URL=${JSON.stringify(url)}: no file named`);
  return { kind: 'sqlite', file: path.resolve(stripped) };
}

export function publicTreeSettings(raw: RawSettings, dataDir: string): Config['publicTree'] {
  if (!raw.PUBLIC_TREE) return { enabled: false };
  if (raw.STORAGE === 's3') throw new ConfigError('invalid setting PUBLIC_TREE: needs STORAGE=fs (nginx serves the public tree from the disk store\'s files)');
  return { enabled: true, dir: path.resolve(raw.PUBLIC_TREE_DIR ?? path.join(dataDir, 'public')), group: raw.STORE_GROUP };
}

export function sendfileSettings(raw: RawSettings): Config['sendfile'] {
  if (raw.SENDFILE === 'off') return { mode: 'off' };
  if (raw.STORAGE === 's3') throw new ConfigError('invalid setting SENDFILE: x-accel needs STORAGE=fs (nginx reads the files of the disk store)');
  if (raw.SENDFILE_PREFIX.split('/').some((part) => part === '..' || part === '.')) throw new ConfigError('invalid setting SENDFILE_PREFIX: no . or .. segments');
  return { mode: 'x-accel', prefix: raw.SENDFILE_PREFIX, cacheSeconds: raw.SENDFILE_CACHE_SECONDS };
}

export function storageSettings(raw: RawSettings, dataDir: string): Config['storage'] {
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

export function captionSettings(raw: RawSettings): Config['captions'] {
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
export function defaultDecodeMemoryMb(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
  return Math.min(2048, Math.max(256, Math.floor(available / 4 / 1024 / 1024)));
}

/** The seeds' size limit (their "10 MB"). */
export const SEED_MAX_FILE_SIZE = 10 * 1024 * 1024;

/** COMPAT=<profile>[:<port>],...: known profiles, each once, ports in range; PORT itself means the main listener. */
export function parseCompat(value: string | undefined, raw: RawSettings): CompatProfileSetting[] {
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
