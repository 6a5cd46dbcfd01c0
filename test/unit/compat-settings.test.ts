// COMPAT: the setting's parsing, the seeds' setting names, the profiles' size limit, and the collision check per listener.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { CollisionError, planListeners } from '../../src/http/compat/index.js';
import type { CompatProfile, ProfileName, ProfileRoute } from '../../src/http/compat/profile.js';

const refused = (env: Record<string, string>, message: RegExp): void => {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
};

describe('COMPAT setting', () => {
  it('is empty when unset, and the profiles keep their own ports or the main one', () => {
    assert.deepEqual(loadConfig({}).compat.profiles, []);
    const config = loadConfig({ PORT: '8080', COMPAT: ' img_handler:8764, imgapi ,s3_upload:8080' });
    assert.deepEqual(config.compat.profiles, [
      { name: 'img_handler', port: 8764 },
      { name: 'imgapi', port: undefined },
      { name: 's3_upload', port: undefined },
    ]);
  });

  it('refuses an unknown profile, listing the five', () => {
    refused({ COMPAT: 'img_handler,imgur' }, /COMPAT.*unknown profile "imgur"; the profiles are img_handler, imgapi, attachments, media_server, s3_upload/);
  });

  it('refuses a profile given twice, even on two ports', () => {
    refused({ COMPAT: 'imgapi:8001,imgapi:8002' }, /COMPAT.*profile imgapi is given twice/);
  });

  it('refuses ports outside 1-65535 and ports that are not numbers', () => {
    for (const port of ['0', '65536', 'http', '', '-1', '80.5']) refused({ COMPAT: `imgapi:${port}` }, /COMPAT.*is not a port \(1-65535\)/);
  });

  it('refuses media_server without its secret, and takes MEDIA_SERVER_SECRET for it', () => {
    refused({ COMPAT: 'media_server' }, /media_server needs MEDIA_SERVER_SECRET/);
    const config = loadConfig({ COMPAT: 'media_server:8002', MEDIA_SERVER_SECRET: 'change-me-to-a-long-random-secret' });
    assert.equal(config.auth.uploadTokenSecret, 'change-me-to-a-long-random-secret');
    refused({ COMPAT: 'media_server', MEDIA_SERVER_SECRET: 'short' }, /MEDIA_SERVER_SECRET=\[redacted\] \(read as UPLOAD_TOKEN_SECRET\)/);
  });
});

describe("the seeds' settings", () => {
  it('the profiles limit L is MAX_FILE_SIZE or MAX_BYTES when set, else 10 MiB whatever the native default', () => {
    assert.equal(loadConfig({}).compat.maxFileSize, 10 * 1024 * 1024);
    assert.equal(loadConfig({ MAX_BYTES: '5000000' }).compat.maxFileSize, 5_000_000);
    assert.equal(loadConfig({ MAX_BYTES: '5000000' }).limits.fileSize, 5_000_000);
    assert.equal(loadConfig({ MAX_BYTES: '5000000', MAX_FILE_SIZE: '6000000' }).compat.maxFileSize, 6_000_000);
  });

  it('UPLOAD_DIR is the disk store, TOKEN_EXPIRY_SECONDS the token lifetime; our own names win', () => {
    const seed = loadConfig({ UPLOAD_DIR: '/srv/uploads' }).storage;
    assert.equal(seed.kind === 'fs' && seed.dir, '/srv/uploads');
    const both = loadConfig({ UPLOAD_DIR: '/srv/uploads', STORAGE_DIR: '/srv/blobs' }).storage;
    assert.equal(both.kind === 'fs' && both.dir, '/srv/blobs');
    assert.equal(loadConfig({ TOKEN_EXPIRY_SECONDS: '60' }).auth.uploadTokenExpirySeconds, 60);
    assert.equal(loadConfig({ AUTH_TOKEN: 'dev-token-change-me' }).authToken, 'dev-token-change-me');
  });

  it("LOG_LEVEL takes Python's level names in any case", () => {
    const levels: Record<string, string> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', warning: 'warn', ERROR: 'error', CRITICAL: 'fatal', Warn: 'warn' };
    for (const [seed, ours] of Object.entries(levels)) assert.equal(loadConfig({ LOG_LEVEL: seed }).logLevel, ours, seed);
    refused({ LOG_LEVEL: 'LOUD' }, /LOG_LEVEL/);
  });
});

/** A profile as the collision check sees it: a name and its routes. */
const profile = (name: ProfileName, routes: ProfileRoute[]): CompatProfile => ({ name, style: 'fastapi', routes, register: async () => undefined });
const registry = {
  img_handler: profile('img_handler', [{ method: 'GET', path: '/images/:filename' }, { method: 'POST', path: '/images/upload' }]),
  imgapi: profile('imgapi', [{ method: 'GET', path: '/api/images/:image_id' }]),
  attachments: profile('attachments', [{ method: 'GET', path: '/images/:image_id' }, { method: 'POST', path: '/upload' }]),
  media_server: profile('media_server', [{ method: 'POST', path: '/upload' }, { method: 'GET', path: '/' }]),
  s3_upload: profile('s3_upload', [{ method: 'GET', path: '/api/images/:image_id' }, { method: 'GET', path: '/:image_id' }]),
};
const plan = (compat: string): ReturnType<typeof planListeners> =>
  planListeners(loadConfig({ PORT: '8080', COMPAT: compat, MEDIA_SERVER_SECRET: 'change-me-to-a-long-random-secret' }), registry);

describe('the collision check', () => {
  it('refuses two profiles serving one method and path shape on one listener, naming them and suggesting a port', () => {
    assert.throws(() => plan('imgapi,s3_upload'), (err: unknown) => {
      assert.ok(err instanceof CollisionError);
      assert.equal(
        err.message,
        'COMPAT: imgapi and s3_upload cannot share port 8080: both serve GET /api/images/{id}; give one of them its own port, e.g. COMPAT=imgapi,s3_upload:5000',
      );
      return true;
    });
    assert.throws(() => plan('attachments:8001,img_handler:8001'), /COMPAT: img_handler and attachments cannot share port 8001: both serve GET \/images\/\{filename\}/);
    assert.throws(() => plan('media_server:9000,attachments:9000'), /attachments and media_server cannot share port 9000: both serve POST \/upload; .*COMPAT=attachments,media_server:8000/);
  });

  it('lets them share a process on listeners of their own, and groups profiles naming one port', () => {
    const listeners = plan('img_handler:8764,imgapi:8000,attachments:8001,media_server:8002,s3_upload:5000');
    assert.deepEqual(listeners.map((l) => [l.port, l.profiles.map((p) => p.name)]), [
      [8764, ['img_handler']],
      [8000, ['imgapi']],
      [8001, ['attachments']],
      [8002, ['media_server']],
      [5000, ['s3_upload']],
    ]);
    assert.deepEqual(plan('imgapi,media_server,img_handler:8080').map((l) => [l.port, l.profiles.map((p) => p.name)]), [[undefined, ['img_handler', 'imgapi', 'media_server']]]);
  });
});

describe("the collision check with this build's profiles", () => {
  const refusal = (compat: string): string => {
    try {
      planListeners(loadConfig({ PORT: '8080', COMPAT: compat, MEDIA_SERVER_SECRET: 'change-me-to-a-long-random-secret' }));
    } catch (err) {
      assert.ok(err instanceof CollisionError);
      return err.message;
    }
    return 'started';
  };

  it('names the three collisions of COMPAT.md §1 as it does', () => {
    assert.equal(
      refusal('imgapi,s3_upload'),
      'COMPAT: imgapi and s3_upload cannot share port 8080: both serve GET /api/images/{id}; give one of them its own port, e.g. COMPAT=imgapi,s3_upload:5000',
    );
    assert.match(refusal('img_handler,attachments'), /^COMPAT: img_handler and attachments cannot share port 8080: both serve GET \/images\/\{filename\}; /);
    assert.match(refusal('attachments,media_server'), /^COMPAT: attachments and media_server cannot share port 8080: both serve POST \/upload; /);
  });

  it('lets the other pairs share a listener', () => {
    for (const compat of ['img_handler,imgapi,media_server', 'img_handler,media_server,s3_upload', 'imgapi,attachments', 'attachments,s3_upload']) {
      assert.equal(refusal(compat), 'started', compat);
    }
  });
});
