import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';

interface Seen {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** A loopback server that speaks a vision-model API well enough to be told apart from a fake. */
async function modelServer(answer: (req: IncomingMessage, body: Record<string, unknown>) => { status: number; json: unknown }): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      const { status, json } = answer(req, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

async function imageOf(t: TestApp, id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${t.url}/api/v1/images/${id}`, { headers: t.auth })).json()) as Record<string, unknown>;
}

async function uploaded(t: TestApp): Promise<string> {
  const res = await t.upload([fixture('jpg/gps/DSCN0010.jpg')]);
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

describe('captions through Ollama /api/generate', () => {
  let t: TestApp;
  let model: Awaited<ReturnType<typeof modelServer>>;
  before(async () => {
    model = await modelServer((_req, body) => {
      const images = body.images as string[];
      return { status: 200, json: { model: body.model, response: `  A bridge over a river (${images.length} image)  `, done: true } };
    });
    t = await startApp({ CAPTION_PROVIDER: 'ollama', CAPTION_URL: model.url, CAPTION_MODEL: 'llava:7b' });
  });
  after(async () => {
    await t.close();
    model.server.close();
  });

  it('sends the image as a JPEG with the model and prompt, and stores the trimmed answer', async () => {
    const id = await uploaded(t);
    const image = await waitFor('a caption', async () => {
      const body = await imageOf(t, id);
      return body.caption ? body : undefined;
    });
    assert.equal(image.caption, 'A bridge over a river (1 image)');
    const request = model.seen[0]!;
    assert.equal(request.path, '/api/generate');
    assert.equal(request.body.model, 'llava:7b');
    assert.equal(request.body.stream, false);
    assert.equal(typeof request.body.prompt, 'string');
    const sent = Buffer.from((request.body.images as string[])[0]!, 'base64');
    assert.equal((await sharp(sent).metadata()).format, 'jpeg');
  });
});

describe('captions through an OpenAI-compatible /v1/chat/completions', () => {
  let t: TestApp;
  let model: Awaited<ReturnType<typeof modelServer>>;
  before(async () => {
    model = await modelServer(() => ({ status: 200, json: { choices: [{ index: 0, message: { role: 'assistant', content: 'Boats moored by a stone bridge.' } }] } }));
    t = await startApp({ CAPTION_PROVIDER: 'openai', CAPTION_URL: `${model.url}/v1`, CAPTION_MODEL: 'gpt-4o-mini', CAPTION_API_KEY: 'sk-test-caption-key' });
  });
  after(async () => {
    await t.close();
    model.server.close();
  });

  it('sends a data-URL image with the API key and stores the answer', async () => {
    const id = await uploaded(t);
    await waitFor('a caption', async () => ((await imageOf(t, id)).caption ? true : undefined));
    assert.equal((await imageOf(t, id)).caption, 'Boats moored by a stone bridge.');
    const request = model.seen[0]!;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.authorization, 'Bearer sk-test-caption-key');
    const content = (request.body.messages as { content: { type: string; image_url?: { url: string } }[] }[])[0]!.content;
    assert.ok(content.some((part) => part.type === 'image_url' && part.image_url!.url.startsWith('data:image/jpeg;base64,')));
  });
});

describe('a caption provider that fails', () => {
  let t: TestApp;
  let model: Awaited<ReturnType<typeof modelServer>>;
  before(async () => {
    model = await modelServer(() => ({ status: 500, json: { error: 'model not loaded' } }));
    t = await startApp({ CAPTION_PROVIDER: 'ollama', CAPTION_URL: model.url, CAPTION_MODEL: 'llava', JOB_BACKOFF_MS: '20' });
  });
  after(async () => {
    await t.close();
    model.server.close();
  });

  it('leaves the image ready without a caption after its retries', async () => {
    const id = await uploaded(t);
    await waitFor('both caption tries', async () => (model.seen.length >= 2 ? true : undefined));
    const image = await waitFor('the image to be processed', async () => {
      const body = await imageOf(t, id);
      return body.status !== 'processing' ? body : undefined;
    });
    assert.equal(image.status, 'ready');
    assert.equal(image.caption, null);
    const counts = await t.app.queue.counts();
    assert.equal(counts.failed, 1, 'the caption job is visible as failed');
  });
});
