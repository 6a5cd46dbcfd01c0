// HEIC decoding on the app's own bounded pool: a full queue answers 503 with Retry-After, a decode over its time budget
// is refused with 422 decode_timeout, and closing one app leaves another's HEIC decoding and SVG sanitizing alone.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { bearer, expectProblem, json } from '../helpers/accounts.js';

const IPHONE = fixture('heic/IMG_5195.HEIC');
/** Each drawing different, so each upload is sanitized anew rather than found already stored. */
const drawing = (width: number): Buffer =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="30"><rect width="${width}" height="30" onclick="alert(1)"/></svg>`);

/** A stored SVG is the sanitized document: the drawing kept, its script attribute gone. */
async function expectSanitized(res: Response, width: number): Promise<void> {
  assert.equal(res.status, 201, await res.clone().text());
  const image = (await res.json()) as { format: string; url: string };
  assert.equal(image.format, 'svg');
  const served = await (await fetch(image.url)).text();
  assert.ok(served.includes(`<rect width="${width}" height="30"/>`), served);
  assert.doesNotMatch(served, /onclick/);
}

interface Stats {
  total: number;
  succeeded: number;
  failed: number;
}

async function stats(t: TestApp): Promise<Stats> {
  return (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as Stats;
}

async function singleUseToken(t: TestApp): Promise<string> {
  const res = await fetch(`${t.url}/api/v1/upload-tokens`, json({ single_use: true, expires_in: 600 }, t.auth));
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

describe('HEIC decoding on a bounded pool', () => {
  describe('with one thread and one file waiting', () => {
    let t: TestApp;
    before(async () => {
      // Processing off: only the uploads' own decodes use the pool.
      t = await startApp({ DECODE_THREADS: '1', DECODE_QUEUE: '1', DECODE_MEMORY_MB: '4096', PROCESSING: 'false' });
    });
    after(() => t.close());

    it('answers 503 unavailable with Retry-After past the full queue, storing nothing for those and leaving their single-use tokens unspent', async () => {
      const bytes = await readFile(IPHONE);
      const tokens = await Promise.all(Array.from({ length: 6 }, () => singleUseToken(t)));
      const answers = await Promise.all(tokens.map((token) => t.upload([['phone.heic', bytes]], {}, bearer(token))));
      const refused = answers.flatMap((res, i) => (res.status === 503 ? [{ res, token: tokens[i]! }] : []));
      const accepted = answers.filter((res) => res.status === 201);
      assert.equal(refused.length + accepted.length, answers.length, `statuses: ${answers.map((r) => r.status).join(', ')}`);
      assert.ok(accepted.length >= 1 && refused.length >= 1, `statuses: ${answers.map((r) => r.status).join(', ')}`);
      for (const { res } of refused) {
        const problem = await expectProblem(res, 503, 'unavailable');
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(typeof problem.retry_after, 'number');
      }
      const counts = await t.stored();
      assert.equal(counts.images, accepted.length, 'nothing stored for the refused uploads');
      assert.equal(counts.blobs, 1, 'one blob: the accepted uploads are the same bytes');
      assert.equal(counts.temp, 0);
      const recorded = await stats(t);
      assert.equal(recorded.failed, refused.length, 'every refused attempt recorded');
      const metrics = await (await fetch(`${t.url}/metrics`, { headers: t.auth })).text();
      assert.match(metrics, new RegExp(`^imgd_decode_memory_bytes\\{state="budget"\\} ${4096 * 1024 * 1024}$`, 'm'));
      assert.match(metrics, /^imgd_decodes_waiting 0$/m);
      // The queue has drained: a refused upload's token still uploads, once.
      for (const { token } of refused) assert.equal((await t.upload([['phone.heic', bytes]], {}, bearer(token))).status, 201);
      await expectProblem(await t.upload([['phone.heic', bytes]], {}, bearer(refused[0]!.token)), 401, 'unauthorized');
    });
  });

  it('refuses a HEIC whose decode runs over DECODE_TIMEOUT_MS with 422 decode_timeout, storing nothing', async () => {
    const t = await startApp({ DECODE_TIMEOUT_MS: '1', PROCESSING: 'false' });
    try {
      const res = await t.upload([IPHONE]);
      const problem = await expectProblem(res, 422, 'decode_timeout');
      assert.match(problem.detail, /not decoded within/);
      assert.deepEqual(await t.stored(), { images: 0, blobs: 0, temp: 0 });
      assert.equal((await stats(t)).failed, 1);
    } finally {
      await t.close();
    }
  });

  it('goes on decoding HEIC and sanitizing SVG in one app after another app in the same process has closed (each has its own threads)', async () => {
    const formats = { ALLOWED_FORMATS: 'jpeg,png,heic,svg' };
    const [first, second] = [await startApp(formats), await startApp(formats)];
    try {
      // Both apps' pools have threads running before the first app closes.
      assert.equal((await first.upload([IPHONE])).status, 201);
      assert.equal((await first.upload([['first.svg', drawing(10)]])).status, 201);
      // The first app closes while the second decodes and sanitizes (a module-wide decoder thread was ended under it: issue 20).
      const decoding = second.upload([IPHONE]);
      const sanitizing = second.upload([['during.svg', drawing(20)]]);
      await first.close();
      const heic = await decoding;
      assert.equal(heic.status, 201, await heic.clone().text());
      assert.equal(((await heic.json()) as { format: string }).format, 'heic');
      await expectSanitized(await sanitizing, 20);
      // And after: new threads of the second app's own.
      assert.equal((await second.upload([fixture('heic/samplefilehub.heif')])).status, 201);
      await expectSanitized(await second.upload([['after.svg', drawing(30)]]), 30);
    } finally {
      await second.close();
    }
  });
});
