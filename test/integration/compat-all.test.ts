// All five COMPAT profiles in one process, each on its own port, over one catalogue; and the collision refusal of the real CLI.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PROFILES } from '../../src/http/compat/index.js';
import { PROFILE_NAMES } from '../../src/http/compat/profile.js';
import { makeDataDir, servicesFor, startCompatApp, TOKEN, type CompatTestApp } from '../helpers/app.js';
import { photo, photoAs, postFile } from '../helpers/compat.js';
import { freePort, runCli } from '../helpers/processes.js';

const SECRET = 'change-me-to-a-long-random-secret';
const admin = { authorization: `Bearer ${TOKEN}` };
/** Profiles written beside these tests (compat-b's) join the registry as they land; until then the tests say what they wait for. */
const missing = PROFILE_NAMES.filter((name) => !PROFILES[name]);
const waiting = missing.length > 0 ? `waiting for the ${missing.join(', ')} profile(s)` : false;

describe('five profiles on five listeners of one process', { skip: waiting }, () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('img_handler:own,imgapi:own,attachments:own,media_server:own,s3_upload:own', { MEDIA_SERVER_SECRET: SECRET, REGISTRATION: 'open' });
  });
  after(() => t.close());

  it('each profile answers on its own port, and its uploads are ordinary images of the native API', async () => {
    const ports = new Set(PROFILE_NAMES.map((name) => t.at(name)));
    assert.equal(ports.size, 5);
    const png = await photoAs('png');
    const viaImgHandler = (await (await postFile(`${t.at('img_handler')}/upload-image`, { filename: 'five.png', type: 'image/png', data: png }, admin)).json()) as { stored_as: string };
    const ts = String(Math.floor(Date.now() / 1000));
    const token = `${ts}.${createHmac('sha256', SECRET).update(ts).digest('hex')}`;
    const viaMedia = (await (await postFile(`${t.at('media_server')}/upload?token=${token}`, { filename: 'five.png', type: 'image/png', data: png })).json()) as { filename: string };
    const viaImgapi = await postFile(`${t.at('imgapi')}/api/images`, { filename: 'five.jpg', type: 'image/jpeg', data: await photo() });
    assert.equal(((await viaImgapi.json()) as { status: string }).status, 'success');
    const viaS3 = await postFile(`${t.at('s3_upload')}/upload/user123`, { filename: 'five.jpg', type: 'image/jpeg', data: await photo() });
    assert.equal(viaS3.status, 201);

    const native = (await (await fetch(`${t.url}/api/v1/images?limit=100`, { headers: admin })).json()) as { items: Array<{ id: string; filename: string; key: string | null }> };
    const names = native.items.map((i) => i.filename);
    assert.ok(names.includes(viaImgHandler.stored_as), 'the img_handler upload');
    assert.ok(names.includes(viaMedia.filename), 'the media_server upload');
    assert.ok(native.items.some((i) => i.key === 'user123'), 'the s3_upload upload, keyed by its id');
    assert.equal(native.items.length, 4);
    // One catalogue: media_server lists the public ones whichever profile took them.
    const listed = (await (await fetch(`${t.at('media_server')}/media`)).json()) as { count: number };
    assert.equal(listed.count, 3);

    // The audit log says who uploaded: no token stands behind imgapi's and s3_upload's anonymous uploads.
    const audit = (await (await fetch(`${t.url}/api/v1/audit?limit=100`, { headers: admin })).json()) as { items: Array<{ actor: string; action: string; target: string }> };
    const uploader = (filename: string): string | undefined => {
      const id = native.items.find((i) => i.filename === filename)?.id;
      return audit.items.find((e) => e.action === 'image.upload' && e.target === id)?.actor;
    };
    const keyed = native.items.find((i) => i.key === 'user123')!;
    const viaImgapiName = names.find((n) => n !== viaImgHandler.stored_as && n !== viaMedia.filename && n !== keyed.filename)!;
    assert.equal(uploader(viaImgHandler.stored_as), 'admin-token');
    assert.equal(uploader(viaMedia.filename), 'upload-token:hmac');
    assert.equal(uploader(viaImgapiName), 'anonymous:imgapi');
    assert.equal(uploader(keyed.filename), 'anonymous:s3_upload');
    // The seed's token deletes only what came in with such a token.
    for (const filename of [viaImgapiName, keyed.filename]) {
      const res = await fetch(`${t.at('media_server')}/media/${filename}?token=${token}`, { method: 'DELETE' });
      assert.equal(res.status, 404, filename);
    }
  });
});

describe('a route collision on one listener, refused by the real CLI', { skip: PROFILES.attachments ? false : 'waiting for the attachments profile' }, () => {
  it('exits 2 naming both profiles, the route and a profile:port to use', async () => {
    const dataDir = await makeDataDir();
    const port = await freePort();
    const run = await runCli(['serve'], { ...(await servicesFor(dataDir)), DATA_DIR: dataDir, AUTH_TOKEN: TOKEN, PORT: String(port), COMPAT: 'attachments,img_handler' });
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.equal(lines.length, 1, run.stderr);
    const attachmentsRoute = PROFILES.attachments!.routes.find((r) => r.method === 'GET' && /^\/images\/:/.test(r.path))!;
    assert.equal(
      (JSON.parse(lines[0]!) as { msg: string }).msg,
      `COMPAT: img_handler and attachments cannot share port ${port}: both serve GET /images/{filename}; give one of them its own port, e.g. COMPAT=img_handler,attachments:8000`,
      `attachments' route is ${attachmentsRoute.path}`,
    );
    assert.doesNotMatch(run.stdout, /listening/);
  });
});
