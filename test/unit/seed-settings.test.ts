// The settings of seeds 002 and 004 under their own names (COMPAT.md §2.9): refused values name the variable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { planListeners } from '../../src/http/compat/index.js';

const refused = (env: Record<string, string>, message: RegExp): void => {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message));
};

describe("seed 002's settings", () => {
  it('takes ALGORITHM=HS256 and refuses any other algorithm, naming ALGORITHM', () => {
    assert.doesNotThrow(() => loadConfig({ ALGORITHM: 'HS256' }));
    refused({ ALGORITHM: 'RS256' }, /^invalid setting ALGORITHM="RS256"/);
    refused({ ALGORITHM: 'none' }, /^invalid setting ALGORITHM="none"/);
  });

  it('reads SECRET_KEY as the JWT secret and ACCESS_TOKEN_EXPIRE_MINUTES in minutes, imgd names winning', () => {
    const config = loadConfig({ SECRET_KEY: 'k'.repeat(40), ACCESS_TOKEN_EXPIRE_MINUTES: '30' });
    assert.equal(config.auth.jwtSecret, 'k'.repeat(40));
    assert.equal(config.auth.jwtExpirySeconds, 1800);
    assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRE_MINUTES: '30', JWT_EXPIRY_SECONDS: '600' }).auth.jwtExpirySeconds, 600);
    refused({ SECRET_KEY: 'short' }, /^invalid setting SECRET_KEY=\[redacted\] \(read as JWT_SECRET\)/);
    refused({ ACCESS_TOKEN_EXPIRE_MINUTES: 'half an hour' }, /^invalid setting ACCESS_TOKEN_EXPIRE_MINUTES=/);
  });

  it("reads DATABASE_URL's sqlite:/// forms as file paths", () => {
    assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:////srv/data/image_service.db' }).database, { kind: 'sqlite', file: '/srv/data/image_service.db' });
    const relative = loadConfig({ DATABASE_URL: 'sqlite:///./image_service.db' }).database;
    assert.equal(relative.kind === 'sqlite' && relative.file, `${process.cwd()}/image_service.db`);
  });

  it("keeps ALLOWED_EXTENSIONS as attachments' list and narrows the formats imgd takes to it", () => {
    const config = loadConfig({ ALLOWED_EXTENSIONS: 'JPG, jpeg,png' });
    assert.deepEqual(config.compat.allowedExtensions, ['jpg', 'jpeg', 'png']);
    assert.deepEqual(config.allowedFormats, ['jpeg', 'png']);
    assert.equal(loadConfig({}).compat.allowedExtensions, undefined);
  });
});

describe("seed 004's settings", () => {
  it('reports ENVIRONMENT (production by default) and reads the AWS_* names as the S3 settings', () => {
    assert.equal(loadConfig({}).compat.environment, 'production');
    assert.equal(loadConfig({ ENVIRONMENT: 'development' }).compat.environment, 'development');
    const config = loadConfig({
      STORAGE: 's3',
      AWS_BUCKET_NAME: 'my-bucket',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret-example',
    });
    assert.equal(config.storage.kind, 's3');
    assert.ok(config.storage.kind === 's3');
    assert.equal(config.storage.bucket, 'my-bucket');
    assert.equal(config.storage.region, 'eu-west-1');
    assert.equal(config.storage.accessKeyId, 'AKIAEXAMPLE');
    assert.equal(config.storage.secretAccessKey, 'secret-example');
    const both = loadConfig({ STORAGE: 's3', AWS_BUCKET_NAME: 'seed-bucket', S3_BUCKET: 'imgd-bucket' }).storage;
    assert.equal(both.kind === 's3' && both.bucket, 'imgd-bucket', "imgd's own name wins");
    refused({ STORAGE: 's3', AWS_BUCKET_NAME: 'x' }, /^invalid setting AWS_BUCKET_NAME="x" \(read as S3_BUCKET\)/);
    refused({ ENVIRONMENT: 'x'.repeat(65) }, /^invalid setting ENVIRONMENT=/);
  });
});

describe('the profiles of seeds 001, 002 and 004 on one listener', () => {
  it('collide where COMPAT.md says, naming the route and suggesting a port', () => {
    assert.throws(
      () => planListeners(loadConfig({ PORT: '8080', COMPAT: 'imgapi,s3_upload' })),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          'COMPAT: imgapi and s3_upload cannot share port 8080: both serve GET /api/images/{id}; give one of them its own port, e.g. COMPAT=imgapi,s3_upload:5000',
    );
    assert.throws(() => planListeners(loadConfig({ PORT: '8080', COMPAT: 'attachments,img_handler' })), /img_handler and attachments cannot share port 8080: both serve GET \/images\/\{filename\}/);
    assert.equal(planListeners(loadConfig({ PORT: '8080', COMPAT: 'imgapi,attachments,s3_upload:5000' })).length, 2);
  });
});
