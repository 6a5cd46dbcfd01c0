// Webhooks end to end: a real receiver on loopback, signatures checked by the standardwebhooks package, retries, restarts, SSRF rules.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { makeDataDir, startApp, type TestApp } from '../helpers/app.js';
import { bearer, createKey, expectProblem, json, signUp } from '../helpers/accounts.js';
import { pngWithGarbledPixels } from '../helpers/damaged.js';
import { freePort } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { createSender } from '../../src/webhooks/sender.js';

const ALL_EVENTS = ['image.created', 'image.processed', 'image.failed', 'image.deleted'];
/** Loopback receivers need private targets allowed; retries come quickly. */
const LOOPBACK = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '50', REGISTRATION: 'open' };

interface WebhookAnswer {
  id: string;
  url: string;
  events: string[];
  all_images: boolean;
  owner_id: string | null;
  secret?: string;
}
interface Delivery {
  id: string;
  event: string;
  image_id: string;
  status: string;
  attempts: Array<{ attempt: number; status_code: number | null; error: string | null; duration_ms: number; at: string }>;
}
interface Event {
  type: string;
  timestamp: string;
  data: { id: string; url: string; status: string; variants: Record<string, string> };
}

const apps: TestApp[] = [];
const receivers: Receiver[] = [];
after(async () => {
  for (const r of receivers) r.release();
  for (const t of apps) await t.close();
  for (const r of receivers) await r.close();
});

async function app(env: Record<string, string>, dataDir?: string): Promise<TestApp> {
  const t = await startApp(env, dataDir);
  apps.push(t);
  return t;
}

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

async function png(): Promise<[string, Uint8Array]> {
  const [r, g, b] = randomBytes(3);
  return ['pixel.png', await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: r!, g: g!, b: b! } } }).png().toBuffer()];
}

async function upload(t: TestApp, headers: Record<string, string> = t.auth, file?: [string, Uint8Array]): Promise<{ id: string }> {
  const res = await t.upload([file ?? (await png())], {}, headers);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string };
}

async function subscribe(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = t.auth): Promise<WebhookAnswer & { secret: string }> {
  const res = await fetch(`${t.url}/api/v1/webhooks`, json(body, headers));
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as WebhookAnswer & { secret: string };
}

async function deliveries(t: TestApp, id: string, headers: Record<string, string> = t.auth): Promise<Delivery[]> {
  const res = await fetch(`${t.url}/api/v1/webhooks/${id}/deliveries`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { items: Delivery[] }).items;
}

async function webhookRows(t: TestApp): Promise<number> {
  const row = await t.app.db.selectFrom('webhooks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Verified with the standardwebhooks package, as a receiver would; throws when the signature does not hold. */
const verify = (secret: string, request: { headers: Record<string, string>; body: string }): Event => new Webhook(secret).verify(request.body, request.headers) as Event;

function received(r: Receiver, type: string, imageId: string) {
  return waitFor(`a ${type} delivery for ${imageId}`, async () =>
    r.requests.find((q) => {
      const event = JSON.parse(q.body) as Event;
      return event.type === type && event.data.id === imageId;
    }),
  );
}

describe('webhooks', () => {
  it('signs each event so that standardwebhooks verifies it with the secret, and not with a forged one', async () => {
    const t = await app(LOOPBACK);
    const r = await receiver();
    const hook = await subscribe(t, { url: r.url, events: ALL_EVENTS });
    assert.match(hook.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(hook.all_images, true, 'the admin token hears of every image');

    const image = await upload(t);
    const created = await received(r, 'image.created', image.id);
    const processed = await received(r, 'image.processed', image.id);
    for (const request of [created, processed]) {
      const event = verify(hook.secret, request);
      assert.equal(event.data.id, image.id);
      assert.match(event.data.url, /^http:\/\/127\.0\.0\.1:\d+\/i\//);
      assert.ok(event.data.variants.small, 'the image as the API shows it, variants included');
      assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
      assert.match(request.headers['webhook-id']!, /^msg_/);
      assert.match(request.headers['webhook-signature']!, /^v1,/);
      assert.equal(request.headers['content-type'], 'application/json');
      const forged = `whsec_${randomBytes(32).toString('base64')}`;
      assert.throws(() => verify(forged, request), /No matching signature/);
      assert.throws(() => verify(hook.secret, { ...request, body: request.body.replace(image.id, 'x'.repeat(image.id.length)) }), /No matching signature/);
    }
    assert.equal(verify(hook.secret, created).data.status, 'processing');
    assert.equal(verify(hook.secret, processed).data.status, 'ready');

    assert.equal((await fetch(`${t.url}/api/v1/images/${image.id}`, { method: 'DELETE', headers: t.auth })).status, 204);
    assert.equal(verify(hook.secret, await received(r, 'image.deleted', image.id)).type, 'image.deleted');

    const failing = await upload(t, t.auth, ['garbled.png', await pngWithGarbledPixels()]);
    const failed = verify(hook.secret, await received(r, 'image.failed', failing.id));
    assert.equal(failed.data.status, 'failed');

    const listed = await (await fetch(`${t.url}/api/v1/webhooks`, { headers: t.auth })).text();
    assert.ok(!listed.includes(hook.secret.slice(6)) && !listed.includes('"secret"'), 'the list never shows the secret');
  });

  it('sends only the events a webhook asked for', async () => {
    const t = await app(LOOPBACK);
    const r = await receiver();
    const hook = await subscribe(t, { url: r.url, events: ['image.processed'] });
    const image = await upload(t);
    await received(r, 'image.processed', image.id);
    // Deliveries are written in the transaction of their event: image.created's would be there since the upload's 201.
    assert.deepEqual((await deliveries(t, hook.id)).map((d) => [d.event, d.image_id]), [['image.processed', image.id]]);
    assert.deepEqual(r.requests.map((q) => (JSON.parse(q.body) as Event).type), ['image.processed']);
  });

  it('retries a receiver that answers 500 with the same webhook-id, and lists every try', async () => {
    const t = await app({ ...LOOPBACK, WEBHOOK_MAX_ATTEMPTS: '5' });
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const hook = await subscribe(t, { url: r.url, events: ['image.created'] });
    const image = await upload(t);
    const [delivery] = await waitFor('the delivery to succeed', async () => {
      const list = await deliveries(t, hook.id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    assert.equal(r.requests.length, 3);
    assert.deepEqual(new Set(r.requests.map((q) => q.headers['webhook-id'])), new Set([delivery!.id]));
    for (const request of r.requests) assert.equal(verify(hook.secret, request).data.id, image.id);
    assert.equal(delivery!.image_id, image.id);
    assert.deepEqual(delivery!.attempts.map((a) => [a.attempt, a.status_code]), [[1, 500], [2, 500], [3, 200]]);
    assert.match(delivery!.attempts[0]!.error!, /HTTP 500/);
    assert.equal(delivery!.attempts[2]!.error, null);
    assert.ok(delivery!.attempts.every((a) => !Number.isNaN(Date.parse(a.at))));
  });

  it('gives a delivery up after WEBHOOK_MAX_ATTEMPTS tries and shows it failed', async () => {
    const t = await app({ ...LOOPBACK, WEBHOOK_MAX_ATTEMPTS: '3' });
    const r = await receiver(() => 503);
    const hook = await subscribe(t, { url: r.url, events: ['image.created'] });
    await upload(t);
    const [delivery] = await waitFor('the delivery to fail', async () => {
      const list = await deliveries(t, hook.id);
      return list[0]?.status === 'failed' ? list : undefined;
    });
    assert.deepEqual(delivery!.attempts.map((a) => a.status_code), [503, 503, 503]);
    await waitFor('the job to settle', async () => ((await t.app.queue.counts()).failed === 1 ? true : undefined));
    assert.equal(r.requests.length, 3);
  });

  it('does not follow a redirect: the try counts as failed and the target of the redirect hears nothing', async () => {
    const t = await app({ ...LOOPBACK, WEBHOOK_MAX_ATTEMPTS: '1' });
    const elsewhere = await receiver();
    const r = await receiver(() => [307, { location: elsewhere.url }]);
    const hook = await subscribe(t, { url: r.url, events: ['image.created'] });
    await upload(t);
    const [delivery] = await waitFor('the delivery to fail', async () => {
      const list = await deliveries(t, hook.id);
      return list[0]?.status === 'failed' ? list : undefined;
    });
    assert.equal(delivery!.attempts[0]!.status_code, 307);
    assert.equal(r.requests.length, 1);
    assert.equal(elsewhere.requests.length, 0);
  });

  it('delivers to a receiver that was down across a restart of imgd', async () => {
    const dir = await makeDataDir();
    const port = await freePort();
    const env = { ...LOOPBACK, WEBHOOK_BACKOFF_MS: '300', WEBHOOK_MAX_ATTEMPTS: '10' };
    const first = await startApp(env, dir);
    let hookId: string;
    let secret: string;
    let deliveryId: string;
    try {
      const hook = await subscribe(first, { url: `http://127.0.0.1:${port}/hook`, events: ['image.created'] });
      hookId = hook.id;
      secret = hook.secret;
      await upload(first);
      const [tried] = await waitFor('a failed try', async () => {
        const list = await deliveries(first, hookId);
        return list[0] && list[0].attempts.length > 0 ? list : undefined;
      });
      assert.equal(tried!.status, 'pending');
      assert.equal(tried!.attempts[0]!.status_code, null);
      assert.match(tried!.attempts[0]!.error!, /ECONNREFUSED/);
      deliveryId = tried!.id;
    } finally {
      await first.close();
    }
    const r = await receiver(() => 200, port);
    const second = await app(env, dir);
    const request = await waitFor('the delivery after the restart', async () => r.requests[0]);
    assert.equal(request.headers['webhook-id'], deliveryId);
    verify(secret, request);
    await waitFor('the delivery to show succeeded', async () => ((await deliveries(second, hookId))[0]?.status === 'succeeded' ? true : undefined));
  });

  it('answers an upload at once while a receiver holds its delivery open, and gives up a try at WEBHOOK_TIMEOUT_MS', async () => {
    const t = await app({ ...LOOPBACK, WEBHOOK_TIMEOUT_MS: '60000' });
    const r = await receiver(() => 'hang');
    await subscribe(t, { url: r.url, events: ['image.created'] });
    await upload(t);
    await waitFor('the receiver to hold a delivery', async () => (r.hanging > 0 ? true : undefined));
    const res = await t.upload([await png()]);
    assert.equal(res.status, 201);
    assert.ok(r.hanging > 0, 'the receiver still holds its delivery');
    r.release();

    const quick = await app({ ...LOOPBACK, WEBHOOK_TIMEOUT_MS: '200', WEBHOOK_MAX_ATTEMPTS: '1' });
    const hook = await subscribe(quick, { url: r.url, events: ['image.created'] });
    await upload(quick);
    const [delivery] = await waitFor('the try to time out', async () => {
      const list = await deliveries(quick, hook.id);
      return list[0]?.status === 'failed' ? list : undefined;
    });
    assert.equal(delivery!.attempts[0]!.status_code, null);
    assert.match(delivery!.attempts[0]!.error!, /no complete answer within 200 ms/);
    r.release();
  });

  it('keeps processing images while receivers hold every delivery open: deliveries have a lane of their own', async () => {
    const t = await app({ ...LOOPBACK, WEBHOOK_TIMEOUT_MS: '60000', JOB_CONCURRENCY: '1', WEBHOOK_CONCURRENCY: '2' });
    const r = await receiver(() => 'hang');
    await subscribe(t, { url: r.url, events: ['image.created', 'image.processed'] });
    await upload(t);
    await upload(t);
    await waitFor('the receiver to hold two deliveries', async () => (r.hanging >= 2 ? true : undefined));
    // Both delivery slots are held for up to a minute, and image jobs have one slot: a shared lane would stall here.
    const image = await upload(t);
    await waitFor('the third image to be processed', async () => {
      const res = await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth });
      return ((await res.json()) as { status: string }).status === 'ready' ? true : undefined;
    });
    assert.equal(r.hanging, 2, 'no more than WEBHOOK_CONCURRENCY deliveries at once');
    r.release();
  });

  it('refuses private targets without WEBHOOK_ALLOW_PRIVATE: at creation, and after DNS resolution at delivery', async () => {
    const t = await app({ WEBHOOK_BACKOFF_MS: '50' });
    const r = await receiver();
    for (const url of [r.url, `http://[::1]:${r.port}/`, `http://[::ffff:127.0.0.1]:${r.port}/`, 'http://localhost/', 'https://10.0.0.8/', 'http://169.254.169.254/latest', 'http://[fd00::1]/', 'http://0x7f000001/']) {
      const problem = await expectProblem(await fetch(`${t.url}/api/v1/webhooks`, json({ url, events: ['image.created'] }, t.auth)), 422, 'webhook_target_refused');
      assert.match(problem.detail, /private, loopback or link-local/);
    }
    assert.equal(await webhookRows(t), 0);

    // A name that pointed somewhere public when the webhook was made and resolves to loopback now (DNS rebinding).
    await t.app.db
      .insertInto('webhooks')
      .values({ id: 'rebound0webhook0', owner_id: null, url: `http://localhost:${r.port}/hook`, events: '["image.created"]', all_images: 1, secret: `whsec_${randomBytes(32).toString('base64')}`, created_at: new Date().toISOString() })
      .execute();
    await upload(t);
    const [delivery] = await waitFor('the delivery to be refused', async () => {
      const list = await deliveries(t, 'rebound0webhook0');
      return list[0]?.status === 'failed' ? list : undefined;
    });
    assert.equal(delivery!.attempts.length, 1, 'a refused target is not retried');
    assert.match(delivery!.attempts[0]!.error!, /resolves to 127\.0\.0\.1, a private, loopback or link-local address/);
    assert.equal(r.requests.length, 0);

    // The sender itself, as deliveries use it: a name resolving to loopback, and literal addresses, never connect.
    const send = createSender({ allowPrivate: false, timeoutMs: 2000 });
    for (const url of [`http://localhost:${r.port}/`, `http://127.0.0.1:${r.port}/`, `http://[::ffff:7f00:1]:${r.port}/`]) {
      await assert.rejects(send(url, {}, '{}'), /private, loopback or link-local/);
    }
    assert.equal(r.requests.length, 0);
  });

  it('keeps webhooks per user: a user hears of their own images only and cannot see or delete another user\'s webhooks', async () => {
    const t = await app(LOOPBACK);
    const alice = await signUp(t, 'alice');
    const bob = await signUp(t, 'bob');
    const r = await receiver();
    const hook = await subscribe(t, { url: r.url, events: ['image.created'] }, alice.auth);
    assert.equal(hook.owner_id, alice.user.id);
    assert.equal(hook.all_images, false);

    const bobs = await upload(t, bob.auth);
    const alices = await upload(t, alice.auth);
    await received(r, 'image.created', alices.id);
    // Written with the upload: had bob's image been alice's business, its delivery would be listed already.
    assert.deepEqual((await deliveries(t, hook.id, alice.auth)).map((d) => d.image_id), [alices.id]);
    assert.ok(!r.requests.some((q) => q.body.includes(bobs.id)), "bob's image is not alice's business");

    const bobList = (await (await fetch(`${t.url}/api/v1/webhooks`, { headers: bob.auth })).json()) as { items: unknown[] };
    assert.deepEqual(bobList.items, []);
    const adminList = (await (await fetch(`${t.url}/api/v1/webhooks`, { headers: t.auth })).json()) as { items: WebhookAnswer[] };
    assert.deepEqual(adminList.items.map((w) => w.id), [hook.id]);
    await expectProblem(await fetch(`${t.url}/api/v1/webhooks/${hook.id}/deliveries`, { headers: bob.auth }), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: bob.auth }), 404, 'not_found');
    assert.equal(await webhookRows(t), 1);
    assert.equal((await fetch(`${t.url}/api/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: alice.auth })).status, 204);
    assert.equal(await webhookRows(t), 0);
    await expectProblem(await fetch(`${t.url}/api/v1/webhooks/${hook.id}/deliveries`, { headers: alice.auth }), 404, 'not_found');
  });

  it('refuses bad input with a problem and stores nothing', async () => {
    const t = await app(LOOPBACK);
    const alice = await signUp(t, 'alice');
    const post = (body: unknown, headers: Record<string, string> = t.auth) => fetch(`${t.url}/api/v1/webhooks`, json(body, headers));
    const url = 'https://example.com/hook';
    for (const bad of ['ftp://example.com/hook', 'not a url', '/relative', 'http://user:pass@example.com/', 'https://example.com/#frag']) {
      await expectProblem(await post({ url: bad, events: ['image.created'] }), 400, 'invalid_webhook_url');
    }
    await expectProblem(await post({ url, events: ['image.exploded'] }), 400, 'validation_failed');
    await expectProblem(await post({ url, events: [] }), 400, 'validation_failed');
    await expectProblem(await post({ url, events: ['image.created', 'image.created'] }), 400, 'validation_failed');
    await expectProblem(await post({ url }), 400, 'validation_failed');
    await expectProblem(await post({ url, events: ['image.created'], extra: 1 }), 400, 'validation_failed');
    await expectProblem(await post({ url, events: ['image.created'] }, {}), 401, 'unauthorized');
    await expectProblem(await post({ url, events: ['image.created'], all_images: true }, alice.auth), 403, 'forbidden');
    const uploadOnly = await createKey(t, alice.auth, ['upload']);
    await expectProblem(await post({ url, events: ['image.created'] }, bearer(uploadOnly.key)), 403, 'forbidden');
    assert.equal(await webhookRows(t), 0);
    await expectProblem(await fetch(`${t.url}/api/v1/webhooks/nosuchwebhook000`, { method: 'DELETE', headers: t.auth }), 404, 'not_found');
    await expectProblem(await fetch(`${t.url}/api/v1/webhooks`, { headers: {} }), 401, 'unauthorized');
  });

  it('documents the webhook routes in the OpenAPI document with operation ids', async () => {
    const t = await app({});
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    assert.equal(doc.paths['/api/v1/webhooks']?.post?.operationId, 'createWebhook');
    assert.equal(doc.paths['/api/v1/webhooks']?.get?.operationId, 'listWebhooks');
    assert.equal(doc.paths['/api/v1/webhooks/{id}']?.delete?.operationId, 'deleteWebhook');
    assert.equal(doc.paths['/api/v1/webhooks/{id}/deliveries']?.get?.operationId, 'listWebhookDeliveries');
  });
});
