import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import exifr from 'exifr';
import sharp from 'sharp';
import { thumbHashToRGBA } from 'thumbhash';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, FIXTURES, makeDataDir, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';
import { uploadOne, type Image } from '../helpers/images.js';

async function get(t: TestApp, id: string, headers: Record<string, string> = t.auth): Promise<Image> {
  return (await (await fetch(`${t.url}/api/v1/images/${id}`, { headers })).json()) as Image;
}

async function settled(t: TestApp, id: string): Promise<Image> {
  return waitFor(`image ${id} to leave processing`, async () => {
    const image = await get(t, id);
    return image.status === 'processing' ? undefined : image;
  });
}

describe('background processing', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ JOB_BACKOFF_MS: '20' });
  });
  after(() => t.close());

  it('takes an image from processing to ready with EXIF, a placeholder and its presets', async () => {
    const created = await uploadOne(t, fixture('jpg/Canon_40D.jpg'));
    assert.equal(created.status, 'processing');
    const image = await settled(t, created.id);
    assert.equal(image.status, 'ready');
    assert.equal(image.error, null);
    const exif = image.exif as Record<string, unknown>;
    assert.equal(exif.make, 'Canon');
    assert.equal(exif.model, 'Canon EOS 40D');
    const hash = Buffer.from(image.placeholder as string, 'base64');
    const decoded = thumbHashToRGBA(hash);
    assert.ok(decoded.w > 0 && decoded.h > 0, 'the placeholder decodes as a ThumbHash');
    // Presets were made by the job, in WebP and JPEG, before anyone asked.
    const cached = await t.blobKeys(`variants/${image.sha256.slice(0, 2)}/${image.sha256.slice(2, 4)}/${image.sha256}/`);
    assert.equal(cached.filter((name) => name.endsWith('.webp')).length, 2);
    assert.equal(cached.filter((name) => name.endsWith('.jpg')).length, 2);
  });

  it('reads EXIF of several cameras', async () => {
    const cases: [string, string, string][] = [
      ['jpg/Nikon_D70.jpg', 'NIKON CORPORATION', 'NIKON D70'],
      ['jpg/gps/DSCN0010.jpg', 'NIKON', 'COOLPIX P6000'],
      ['jpg/Canon_40D.jpg', 'Canon', 'Canon EOS 40D'],
      ['jpg/tests/32-lens_data.jpeg', 'NIKON CORPORATION', 'NIKON D300'],
    ];
    for (const [file, make, model] of cases) {
      const image = await settled(t, (await uploadOne(t, fixture(file))).id);
      const exif = image.exif as Record<string, unknown>;
      assert.equal(exif.make, make, file);
      assert.equal(exif.model, model, file);
    }
  });

  it('survives every EXIF edge case among the fixtures', async () => {
    for (const name of await readdir(`${FIXTURES}/jpg/tests`)) {
      const res = await t.upload([`${FIXTURES}/jpg/tests/${name}`]);
      if (res.status !== 201) continue; // refused at ingest: not this test's concern
      const image = await settled(t, ((await res.json()) as Image).id);
      assert.equal(image.status, 'ready', `${name}: ${String(image.error)}`);
    }
  });

  it('serves no GPS in any public byte, while the owner still sees the location', async () => {
    for (const name of await readdir(`${FIXTURES}/jpg/gps`)) {
      const original = await exifr.gps(`${FIXTURES}/jpg/gps/${name}`);
      assert.ok(original?.latitude !== undefined, `${name} carries GPS to begin with`);
      const image = await settled(t, (await uploadOne(t, `${FIXTURES}/jpg/gps/${name}`)).id);
      const publicBytes = [Buffer.from(await (await fetch(image.url)).arrayBuffer())];
      for (const url of Object.values(image.variants)) {
        for (const accept of ['image/avif', 'image/webp', 'image/jpeg']) {
          publicBytes.push(Buffer.from(await (await fetch(url, { headers: { accept } })).arrayBuffer()));
        }
      }
      for (const bytes of publicBytes) {
        const gps = await exifr.parse(bytes, { gps: true, xmp: true, pick: ['latitude', 'longitude', 'GPSLatitude', 'GPSLongitude'] }).catch(() => undefined);
        assert.equal(gps?.latitude ?? gps?.GPSLatitude, undefined, `${name}: GPS in served bytes`);
      }
      const asOwner = image.exif as { gps: { latitude: number; longitude: number } | null };
      assert.ok(asOwner.gps, `${name}: the admin sees the location`);
      assert.ok(Math.abs(asOwner.gps.latitude - original.latitude) < 1e-6);
      assert.ok(Math.abs(asOwner.gps.longitude - original.longitude) < 1e-6);
    }
  });

  it('fails a job that keeps failing after its retries, with a reason, and goes on with others', async () => {
    // The bytes vanish before the job runs (a storage fault): every try fails the same way.
    await t.app.queue.stop();
    const doomed = await uploadOne(t, fixture('jpg/xmp/BlueSquare.jpg'));
    await t.app.store.delete(originalKey(doomed.sha256));
    await t.app.queue.start();
    const failed = await settled(t, doomed.id);
    assert.equal(failed.status, 'failed');
    assert.match(String(failed.error), /blob|no such|not found/i);
    const next = await settled(t, (await uploadOne(t, fixture('jpg/gps/DSCN0012.jpg'))).id);
    assert.equal(next.status, 'ready', 'the queue is not wedged');
  });

  it('reports processing durations per step in the stats', async () => {
    const stats = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as {
      processing: Record<string, { runs: number; average_ms: number | null; p95_ms: number | null }>;
    };
    for (const step of ['exif', 'variants', 'placeholder']) {
      const s = stats.processing[step];
      assert.ok(s && s.runs > 0, `${step} has runs`);
      assert.ok(s.average_ms !== null && s.average_ms > 0);
      assert.ok(s.p95_ms !== null && s.p95_ms >= 0);
    }
  });
});

describe('processing across a restart', () => {
  it('finishes the work queued before a restart', async () => {
    const dir = await makeDataDir();
    // First life: jobs are queued but no worker runs them, as if the process died right after the upload.
    const first = await startApp({ RUN_WORKERS: 'false' }, dir);
    const ids: string[] = [];
    for (const name of ['DSCN0021.jpg', 'DSCN0025.jpg', 'DSCN0027.jpg']) ids.push((await uploadOne(first, fixture(`jpg/gps/${name}`))).id);
    for (const id of ids) assert.equal((await get(first, id)).status, 'processing');
    await first.close();

    const second = await startApp({}, dir);
    try {
      for (const id of ids) assert.equal((await settled(second, id)).status, 'ready');
      // Jobs already waiting (in the database, or handed to Redis) are not queued a second time by the restart.
      for (const id of ids) {
        const jobs = await second.app.db.selectFrom('jobs').select('status').where('type', '=', 'image.process').where('payload', '=', JSON.stringify({ imageId: id })).execute();
        assert.deepEqual(jobs.map((j) => j.status), ['done'], id);
      }
    } finally {
      await second.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('orientation in variants', () => {
  it('makes the preset variants of rotated photos upright', async () => {
    const t = await startApp();
    try {
      const image = await settled(t, (await uploadOne(t, fixture('jpg/orientation/portrait_6.jpg'))).id);
      const bytes = Buffer.from(await (await fetch(image.variants.small!, { headers: { accept: 'image/webp' } })).arrayBuffer());
      const meta = await sharp(bytes).metadata();
      assert.ok(meta.height > meta.width, 'a portrait photo stays portrait');
    } finally {
      await t.close();
    }
  });
});
