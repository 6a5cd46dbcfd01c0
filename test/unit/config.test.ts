// Settings: safe defaults, the seeds' aliases, friendly units and formats, and a ConfigError that names what is wrong.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { IMAGE_FORMATS } from '../../src/core/formats.js';

/** Asserts loadConfig(env) throws a ConfigError whose message names the setting. */
function refuses(env: Record<string, string>, setting: string): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`\\b${setting}\\b`), `the message names ${setting}: ${err.message}`);
      return true;
    },
    `${JSON.stringify(env)} is refused`,
  );
}

describe('loadConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe('defaults', () => {
    const config = loadConfig({});

    it('listens on loopback only, port 8080', () => {
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.port, 8080);
    });

    it('keeps data in ./data, resolved to an absolute path, with SQLite and blobs inside it', () => {
      assert.equal(config.dataDir, path.resolve('data'));
      assert.ok(path.isAbsolute(config.dataDir));
      assert.deepEqual(config.database, { kind: 'sqlite', file: path.join(path.resolve('data'), 'imgd.sqlite') });
      assert.deepEqual(config.storage, { kind: 'fs', dir: path.join(path.resolve('data'), 'blobs') });
    });

    it('has bounded limits, every format but SVG (opt-in), no token, registration closed, CORS off', () => {
      assert.equal(config.limits.fileSize, 20 * 1024 * 1024);
      assert.ok(config.limits.files >= 1 && config.limits.files <= 100);
      assert.ok(config.limits.pixels > 0);
      assert.deepEqual([...config.allowedFormats].sort(), IMAGE_FORMATS.filter((f) => f !== 'svg').sort());
      assert.equal(config.authToken, undefined);
      assert.equal(config.publicUrl, undefined);
      assert.equal(config.auth.registration, 'closed');
      assert.equal(config.auth.uploadTokenSecret, undefined);
      assert.deepEqual(config.corsOrigins, []);
      assert.equal(config.http.trustProxy, false);
      assert.equal(config.jobs.redisUrl, undefined);
    });

    it('is frozen', () => {
      assert.ok(Object.isFrozen(config));
    });

    it('ignores empty values, as if unset', () => {
      assert.equal(loadConfig({ PORT: '', HOST: '' }).port, 8080);
      assert.equal(loadConfig({ PORT: '', HOST: '' }).host, '127.0.0.1');
    });
  });

  describe('aliases of the seeds', () => {
    it('UPLOAD_DIR sets the storage dir', () => {
      assert.deepEqual(loadConfig({ UPLOAD_DIR: '/srv/uploads' }).storage, { kind: 'fs', dir: '/srv/uploads' });
      assert.deepEqual(loadConfig({ UPLOAD_DIR: 'rel/uploads' }).storage, { kind: 'fs', dir: path.resolve('rel/uploads') });
    });

    it('MAX_BYTES sets the file size limit, units included', () => {
      assert.equal(loadConfig({ MAX_BYTES: '5000' }).limits.fileSize, 5000);
      assert.equal(loadConfig({ MAX_BYTES: '2MB' }).limits.fileSize, 2 * 1024 * 1024);
    });

    it('ALLOWED_EXTENSIONS, MEDIA_SERVER_SECRET and SECRET_KEY map to ours', () => {
      const config = loadConfig({
        ALLOWED_EXTENSIONS: 'jpg,jpeg,png',
        MEDIA_SERVER_SECRET: 'a-shared-secret-of-some-length',
        SECRET_KEY: 'k'.repeat(32),
      });
      assert.deepEqual(config.allowedFormats, ['jpeg', 'png']);
      assert.equal(config.auth.uploadTokenSecret, 'a-shared-secret-of-some-length');
      assert.equal(config.auth.jwtSecret, 'k'.repeat(32));
    });

    it('our own name wins over an alias', () => {
      assert.equal(loadConfig({ MAX_BYTES: '100', MAX_FILE_SIZE: '200' }).limits.fileSize, 200);
      assert.equal(loadConfig({ MAX_FILE_SIZE: '200', MAX_BYTES: '100' }).limits.fileSize, 200, 'whatever the order');
      assert.deepEqual(loadConfig({ UPLOAD_DIR: '/a', STORAGE_DIR: '/b' }).storage, { kind: 'fs', dir: '/b' });
    });

    it('ACCESS_TOKEN_EXPIRE_MINUTES counts minutes', () => {
      assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRE_MINUTES: '30' }).auth.jwtExpirySeconds, 1800);
    });
  });

  describe('values', () => {
    it('MAX_FILE_SIZE takes units', () => {
      assert.equal(loadConfig({ MAX_FILE_SIZE: '10MB' }).limits.fileSize, 10 * 1024 * 1024);
      assert.equal(loadConfig({ MAX_FILE_SIZE: '10mb' }).limits.fileSize, 10 * 1024 * 1024);
      assert.equal(loadConfig({ MAX_FILE_SIZE: '512K' }).limits.fileSize, 512 * 1024);
      assert.equal(loadConfig({ MAX_FILE_SIZE: '1 GB' }).limits.fileSize, 1024 ** 3);
      assert.equal(loadConfig({ MAX_FILE_SIZE: '12345' }).limits.fileSize, 12345);
    });

    it('MIN_FREE_DISK takes units, 100 MiB by default, 0 to check only failed writes', () => {
      assert.equal(loadConfig({}).minFreeDisk, 100 * 1024 * 1024);
      assert.equal(loadConfig({ MIN_FREE_DISK: '2GB' }).minFreeDisk, 2 * 1024 ** 3);
      assert.equal(loadConfig({ MIN_FREE_DISK: '0' }).minFreeDisk, 0);
      assert.throws(() => loadConfig({ MIN_FREE_DISK: 'lots' }), /invalid setting MIN_FREE_DISK="lots"/);
    });

    it('ALLOWED_FORMATS takes extensions and names, in any case, without duplicates', () => {
      assert.deepEqual(loadConfig({ ALLOWED_FORMATS: 'jpg,png' }).allowedFormats, ['jpeg', 'png']);
      assert.deepEqual(loadConfig({ ALLOWED_FORMATS: ' JPG , jpeg, tif ,WEBP' }).allowedFormats, ['jpeg', 'tiff', 'webp']);
      assert.deepEqual(loadConfig({ ALLOWED_FORMATS: 'jpg,SVG' }).allowedFormats, ['jpeg', 'svg']);
    });

    it('DATABASE_URL: SQLite paths in several spellings, and PostgreSQL', () => {
      assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:///./x.db' }).database, { kind: 'sqlite', file: path.resolve('x.db') });
      assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:////var/lib/imgd/x.db' }).database, { kind: 'sqlite', file: '/var/lib/imgd/x.db' });
      assert.deepEqual(loadConfig({ DATABASE_URL: 'file:rel.db' }).database, { kind: 'sqlite', file: path.resolve('rel.db') });
      assert.deepEqual(loadConfig({ DATABASE_URL: '/abs/imgd.db' }).database, { kind: 'sqlite', file: '/abs/imgd.db' });
      const url = 'postgres://imgd:secret@db.internal:5432/imgd';
      assert.deepEqual(loadConfig({ DATABASE_URL: url }).database, { kind: 'postgres', url });
      assert.deepEqual(loadConfig({ DATABASE_URL: 'postgresql://h/db' }).database, { kind: 'postgres', url: 'postgresql://h/db' });
    });

    it('decoding: a memory budget sized to the machine (256 MB to 2 GB), a thread per core, and each one overridable', () => {
      const { decoding } = loadConfig({});
      const mb = decoding.memoryBytes / 1024 / 1024;
      assert.ok(mb >= 256 && mb <= 2048 && mb <= os.totalmem() / 1024 / 1024, `${mb} MB`);
      assert.equal(decoding.threads, os.availableParallelism());
      assert.deepEqual(
        loadConfig({ DECODE_MEMORY_MB: '512', DECODE_THREADS: '3', DECODE_QUEUE: '0', DECODE_WAIT_MS: '0', DECODE_TIMEOUT_MS: '5000' }).decoding,
        { memoryBytes: 512 * 1024 * 1024, threads: 3, queue: 0, waitMs: 0, timeoutMs: 5000 },
      );
    });
    it('booleans, lists and a trailing slash on PUBLIC_URL', () => {
      const config = loadConfig({ TRUST_PROXY: 'yes', RUN_WORKERS: 'off', CORS_ORIGINS: 'https://a.example, https://b.example', PUBLIC_URL: 'https://img.example/' });
      assert.equal(config.http.trustProxy, true);
      assert.equal(config.jobs.runWorkers, false);
      assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example']);
      assert.equal(config.publicUrl, 'https://img.example');
    });
  });

  describe('bad values throw a ConfigError naming the setting', () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ PORT: '-1' }, 'PORT'],
      [{ PORT: '80.5' }, 'PORT'],
      [{ MAX_FILE_SIZE: '-1' }, 'MAX_FILE_SIZE'],
      [{ MAX_FILE_SIZE: '0' }, 'MAX_FILE_SIZE'],
      [{ MAX_FILE_SIZE: '10XB' }, 'MAX_FILE_SIZE'],
      [{ MAX_FILE_SIZE: 'lots' }, 'MAX_FILE_SIZE'],
      [{ MAX_FILES: '1000' }, 'MAX_FILES'],
      [{ ALLOWED_FORMATS: 'psd' }, 'ALLOWED_FORMATS'],
      [{ ALLOWED_FORMATS: 'jpg,pdf' }, 'ALLOWED_FORMATS'],
      [{ ALLOWED_FORMATS: ',' }, 'ALLOWED_FORMATS'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ STORAGE: 'ftp' }, 'STORAGE'],
      [{ STORAGE: 's3' }, 'S3_BUCKET'],
      [{ STORAGE: 's3', S3_BUCKET: 'bucket', S3_ACCESS_KEY_ID: 'id' }, 'S3_ACCESS_KEY_ID'],
      [{ DATABASE_URL: 'mysql://h/db' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'sqlite:///' }, 'DATABASE_URL'],
      [{ AUTH_TOKEN: 'short' }, 'AUTH_TOKEN'],
      [{ PUBLIC_URL: 'ftp://img.example' }, 'PUBLIC_URL'],
      [{ RUN_WORKERS: 'maybe' }, 'RUN_WORKERS'],
      [{ JOB_CONCURRENCY: '0' }, 'JOB_CONCURRENCY'],
      [{ REQUEST_TIMEOUT_MS: '10' }, 'REQUEST_TIMEOUT_MS'],
      [{ REGISTRATION: 'sometimes' }, 'REGISTRATION'],
      [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
      [{ REDIS_URL: 'http://redis' }, 'REDIS_URL'],
      [{ VARIANT_SIZES: '100,big' }, 'VARIANT_SIZES'],
      [{ VARIANT_PRESETS: 'small' }, 'VARIANT_PRESETS'],
      [{ CAPTION_PROVIDER: 'ollama' }, 'CAPTION_URL'],
      [{ DECODE_MEMORY_MB: '8' }, 'DECODE_MEMORY_MB'],
      [{ DECODE_THREADS: '0' }, 'DECODE_THREADS'],
      [{ DECODE_QUEUE: '-1' }, 'DECODE_QUEUE'],
      [{ DECODE_TIMEOUT_MS: '0' }, 'DECODE_TIMEOUT_MS'],
    ];
    for (const [env, setting] of cases) {
      it(`${JSON.stringify(env)} -> ${setting}`, () => refuses(env, setting));
    }

    it('a bad value given under an alias names the alias the operator set', () => {
      refuses({ MAX_BYTES: 'abc' }, 'MAX_BYTES');
      refuses({ ALLOWED_EXTENSIONS: 'psd' }, 'ALLOWED_EXTENSIONS');
      refuses({ UPLOAD_DIR: '/ok', MAX_BYTES: '-5' }, 'MAX_BYTES');
      refuses({ ACCESS_TOKEN_EXPIRE_MINUTES: 'soon' }, 'ACCESS_TOKEN_EXPIRE_MINUTES');
      refuses({ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, 'ACCESS_TOKEN_EXPIRE_MINUTES');
    });

    it('never repeats a secret in the message', () => {
      for (const [name, value] of [
        ['AUTH_TOKEN', 'hunter2-short'],
        ['JWT_SECRET', 'my-real-but-short-secret'],
        ['SECRET_KEY', 'my-real-but-short-secret'],
        ['UPLOAD_TOKEN_SECRET', 'shortsecret'],
      ] as const) {
        assert.throws(
          () => loadConfig({ [name]: value }),
          (err: unknown) => err instanceof ConfigError && err.message.includes(name) && !err.message.includes(value),
          `${name}: the message names the setting and hides the value`,
        );
      }
    });
  });

  describe('CONFIG_FILE', () => {
    it('reads settings from a JSON file; the environment wins over it', async () => {
      const file = path.join(dir, 'imgd.json');
      await writeFile(file, JSON.stringify({ PORT: 9090, HOST: '0.0.0.0', MAX_FILE_SIZE: '1MB', ALLOWED_FORMATS: 'jpg', TRUST_PROXY: true }));
      const config = loadConfig({ CONFIG_FILE: file });
      assert.equal(config.port, 9090);
      assert.equal(config.host, '0.0.0.0');
      assert.equal(config.limits.fileSize, 1024 * 1024);
      assert.deepEqual(config.allowedFormats, ['jpeg']);
      assert.equal(config.http.trustProxy, true);
      assert.equal(loadConfig({ CONFIG_FILE: file, PORT: '9191' }).port, 9191);
    });

    it('refuses unknown keys in the file, naming them', async () => {
      const file = path.join(dir, 'typo.json');
      await writeFile(file, JSON.stringify({ PORT: 9090, MAX_FILESIZE: 10 }));
      refuses({ CONFIG_FILE: file }, 'MAX_FILESIZE');
    });

    it('refuses bad values in the file, naming the setting', async () => {
      const file = path.join(dir, 'bad.json');
      await writeFile(file, JSON.stringify({ PORT: 'eighty' }));
      refuses({ CONFIG_FILE: file }, 'PORT');
    });

    it('refuses a file that is missing, not JSON, or not an object', async () => {
      refuses({ CONFIG_FILE: path.join(dir, 'missing.json') }, 'CONFIG_FILE');
      const notJson = path.join(dir, 'not.json');
      await writeFile(notJson, 'PORT=9090\n');
      refuses({ CONFIG_FILE: notJson }, 'CONFIG_FILE');
      const array = path.join(dir, 'array.json');
      await writeFile(array, '[1, 2]');
      refuses({ CONFIG_FILE: array }, 'CONFIG_FILE');
    });
  });
});
