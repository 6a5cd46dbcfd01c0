import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { JSDOM } from 'jsdom';
import sharp from 'sharp';
import { startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/wait.js';
import { uploadOne, type Image } from '../helpers/images.js';

/** The DOM shapes the assertions read (the tests compile without the DOM lib). */
interface Node {
  readonly localName: string;
  readonly namespaceURI: string | null;
  readonly textContent: string | null;
  readonly attributes: ArrayLike<{ readonly name: string; readonly value: string }>;
  getElementsByTagName(name: string): ArrayLike<Node>;
}

const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";
const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';
const window = new JSDOM('').window as { DOMParser: new () => { parseFromString(text: string, type: string): { documentElement: Node } } };

const svg = (body: string, attrs = 'width="400" height="300" viewBox="0 0 400 300"'): Buffer =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<svg ${NS} ${attrs}>${body}</svg>\n`);

const CLEAN = svg(
  '<defs><linearGradient id="g"><stop offset="0" stop-color="#09f"/><stop offset="1" stop-color="#f90"/></linearGradient></defs>' +
    '<style>circle { stroke: black; stroke-width: 4px }</style>' +
    '<rect width="400" height="300" fill="url(#g)"/><circle cx="200" cy="150" r="80" fill="white"/><use href="#g"/>',
);

/** Everything in a served SVG that could run, navigate or fetch; empty when the document is inert. */
function activeContent(root: Node): string[] {
  const found: string[] = [];
  const all = [root, ...Array.from(root.getElementsByTagName('*'))];
  for (const el of all) {
    const name = el.localName.toLowerCase();
    if (['script', 'foreignobject', 'iframe', 'embed', 'object', 'set', 'animate'].includes(name)) found.push(`<${el.localName}>`);
    if (el.namespaceURI !== 'http://www.w3.org/2000/svg') found.push(`<${el.localName}> in ${el.namespaceURI}`);
    for (const attr of Array.from(el.attributes)) {
      if (/^xmlns(:|$)/.test(attr.name)) continue; // namespace names, never fetched
      const value = attr.value.trim();
      if (/^on/i.test(attr.name)) found.push(`${attr.name} on <${el.localName}>`);
      if (/(^|:)href$/i.test(attr.name) && !/^#|^data:image\/(png|jpeg|gif|webp)[;,]/i.test(value)) found.push(`${attr.name}="${value}"`);
      if (/javascript:|data:text\/html|https?:|file:/i.test(value)) found.push(`${attr.name}="${value}" on <${el.localName}>`);
    }
    if (name === 'style' && /@import|url\(\s*['"]?(?!#)/i.test(el.textContent ?? '')) found.push(`<style>${el.textContent}</style>`);
  }
  return found;
}

function parseSvg(bytes: Buffer): Node {
  const root = new window.DOMParser().parseFromString(bytes.toString('utf8'), 'image/svg+xml').documentElement;
  assert.equal(root.localName, 'svg', bytes.toString('utf8'));
  return root;
}

async function served(url: string, accept?: string): Promise<{ res: Response; bytes: Buffer }> {
  const res = await fetch(url, { headers: accept ? { accept } : {} });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function expectRefusal(t: TestApp, name: string, bytes: Buffer, status: number, code: string): Promise<void> {
  const before = await t.stored();
  const res = await t.upload([[name, bytes]]);
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), PROBLEM_TYPE);
  assert.equal((JSON.parse(text) as { code: string }).code, code, text);
  assert.deepEqual(await t.stored(), before, 'nothing is stored');
}

describe('SVG', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ALLOWED_FORMATS: 'jpeg,png,svg' });
  });
  after(() => t.close());

  it('stores a clean SVG as image/svg+xml and serves it with a sandboxing CSP and nosniff', async () => {
    const image = await uploadOne(t, ['Logo Mark.svg', CLEAN]);
    assert.equal(image.format, 'svg');
    assert.equal(image.content_type, 'image/svg+xml');
    assert.match(image.filename, /^logo-mark(_\d{8}T\d{12}Z)?\.svg$/);
    assert.deepEqual([image.width, image.height], [400, 300]);
    const { res, bytes } = await served(image.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.equal(res.headers.get('content-security-policy'), SVG_CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    // What is served is what was stored (and hashed): the sanitized document, which kept the drawing.
    assert.equal(createHash('sha256').update(bytes).digest('hex'), image.sha256);
    const root = parseSvg(bytes);
    assert.deepEqual(activeContent(root), []);
    for (const kept of ['linearGradient', 'rect', 'circle', 'style', 'use']) assert.equal(root.getElementsByTagName(kept).length, 1, kept);
  });

  it('rasterizes the presets: WebP or PNG at the preset size, never SVG, and makes a placeholder', async () => {
    const image = await uploadOne(t, ['drawing.svg', CLEAN]);
    const webp = await served(image.variants.small!, 'image/webp,*/*');
    assert.equal(webp.res.status, 200);
    assert.equal(webp.res.headers.get('content-type'), 'image/webp');
    const meta = await sharp(webp.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 256, 192]);
    // No AVIF or WebP in Accept: PNG, since an SVG may be transparent.
    const png = await served(image.variants.small!, 'image/png,image/jpeg');
    assert.equal(png.res.headers.get('content-type'), 'image/png');
    assert.deepEqual(await sharp(png.bytes).metadata().then((m) => [m.format, m.width, m.height, m.hasAlpha]), ['png', 256, 192, true]);
    const ready = await waitFor('the SVG to be processed', async () => {
      const got = (await (await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth })).json()) as Image;
      return got.status === 'processing' ? undefined : got;
    });
    assert.equal(ready.status, 'ready', JSON.stringify(ready));
    assert.equal(typeof ready.placeholder, 'string');
  });

  it('draws a small icon at the size a variant asks for instead of upscaling pixels', async () => {
    const icon = svg('<circle cx="12" cy="12" r="10" fill="red"/>', 'width="24" height="24" viewBox="0 0 24 24"');
    const image = await uploadOne(t, ['icon.svg', icon]);
    const { res, bytes } = await served(`${image.url}/custom?w=128&format=png`);
    assert.equal(res.status, 200);
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [128, 128]);
    // The centre is solid red and a corner transparent: a drawing, not a blurred 24-pixel stretch.
    const px = (x: number, y: number): number[] => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)];
    assert.deepEqual(px(64, 64), [255, 0, 0, 255]);
    assert.equal(px(0, 0)[3], 0);
  });

  it('refuses to serve a variant as SVG', async () => {
    const image = await uploadOne(t, ['pinned.svg', CLEAN]);
    const res = await fetch(`${image.url}/small?format=svg`);
    assert.equal(res.status, 400);
  });

  const attacks: [string, string, string][] = [
    ['a script element', '<script>alert(document.domain)</script><script xlink:href="http://evil.example/x.js"/><circle r="5"/>', 'circle'],
    ['an onload attribute', '<g onload="alert(1)" onclick="alert(2)"><circle r="5"/></g>', 'circle'],
    ['a javascript: link', '<a href="javascript:alert(1)"><circle r="5"/></a><a xlink:href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"><rect width="1" height="1"/></a>', 'circle'],
    ['an external xlink:href image', '<image xlink:href="http://evil.example/track.png" width="10" height="10"/><circle r="5"/>', 'circle'],
    ['a foreignObject with HTML', '<foreignObject width="100" height="100"><div xmlns="http://www.w3.org/1999/xhtml"><iframe src="http://evil.example/"></iframe><script>alert(1)</script></div></foreignObject><circle r="5"/>', 'circle'],
    ['a <use> of an external file', '<use href="http://evil.example/sprite.svg#icon"/><use xlink:href="file:///etc/passwd#x"/><circle id="c" r="5"/><use href="#c"/>', 'use'],
    ['a CSS @import and external url()', '<style>@import url(http://evil.example/a.css); circle { fill: url(http://evil.example/p.svg#p); stroke: blue }</style><circle r="5" style="fill: red; background: url(\'https://evil.example/b.png\')"/>', 'circle'],
    ['embedded iframe, embed and object', '<iframe xmlns="http://www.w3.org/1999/xhtml" src="http://evil.example/"/><embed src="http://evil.example/x"/><object data="http://evil.example/x"/><circle r="5"/>', 'circle'],
    ['an animation that rewrites href', '<a href="#c"><set attributeName="href" to="javascript:alert(1)"/><animate attributeName="href" values="javascript:alert(1)"/><circle id="c" r="5"/></a>', 'circle'],
    ['an xml-stylesheet instruction and xml:base', '<?xml-stylesheet href="http://evil.example/x.css"?><g xml:base="http://evil.example/"><circle r="5" fill="url(http://evil.example/p#x)"/></g>', 'circle'],
  ];
  for (const [what, body, kept] of attacks) {
    it(`stores an SVG with ${what} without it, keeping the drawing`, async () => {
      const image = await uploadOne(t, ['attack.svg', svg(body)]);
      const { res, bytes } = await served(image.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-security-policy'), SVG_CSP);
      const root = parseSvg(bytes);
      assert.deepEqual(activeContent(root), [], bytes.toString('utf8'));
      assert.ok(root.getElementsByTagName(kept).length >= 1, `<${kept}> survives: ${bytes.toString('utf8')}`);
      assert.doesNotMatch(bytes.toString('utf8'), /evil\.example|javascript:|alert\(|file:/);
    });
  }

  it('dedupes by the sanitized bytes: files that differ only in what was removed are stored once', async () => {
    const a = await uploadOne(t, ['a.svg', svg('<circle r="7" onclick="steal()"/>')]);
    const b = await uploadOne(t, ['b.svg', svg('<circle r="7"/><script>steal()</script>')]);
    assert.equal(a.sha256, b.sha256);
    assert.equal(a.bytes, b.bytes);
  });

  it('refuses a DOCTYPE that declares entities (billion laughs), storing nothing', async () => {
    const laughs =
      '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n' +
      `<svg ${NS} width="10" height="10"><text>&lol3;</text></svg>`;
    await expectRefusal(t, 'laughs.svg', Buffer.from(laughs), 422, 'svg_entities');
    const xxe = `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg ${NS} width="10" height="10"><text>&xxe;</text></svg>`;
    await expectRefusal(t, 'xxe.svg', Buffer.from(xxe), 422, 'svg_entities');
  });

  it('refuses XML that is not SVG, text named .svg, and broken SVG, storing nothing', async () => {
    await expectRefusal(t, 'feed.svg', Buffer.from('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title></channel></rss>'), 415, 'unsupported_format');
    await expectRefusal(t, 'notes.svg', Buffer.from('just some text in a file named like a drawing\n'), 415, 'unsupported_format');
    await expectRefusal(t, 'page.svg', Buffer.from('<!-- a page -->\n<html><body><p>hi</body></html>'), 415, 'unsupported_format');
    await expectRefusal(t, 'bare.svg', Buffer.from('<svg width="10" height="10"><circle r="5"/></svg>'), 415, 'unsupported_format');
    await expectRefusal(t, 'cut.svg', Buffer.from(`<svg ${NS} width="10" height="10"><g><circle r="5"/>`), 422, 'corrupt_image');
  });

  it('refuses SVGs too deep or too large to sanitize quickly, storing nothing', async () => {
    await expectRefusal(t, 'deep.svg', svg(`${'<g>'.repeat(5000)}${'</g>'.repeat(5000)}`), 422, 'svg_too_complex');
    await expectRefusal(t, 'many.svg', svg('<g/>'.repeat(50_000)), 422, 'svg_too_complex');
    await expectRefusal(t, 'big.svg', svg(`<!-- ${'x'.repeat(3 * 1024 * 1024)} -->`), 413, 'file_too_large');
  });

  it('refuses an SVG that claims 100000x100000 pixels, storing nothing', async () => {
    await expectRefusal(t, 'huge.svg', svg('<circle r="5"/>', 'width="100000" height="100000"'), 422, 'image_too_large');
    await expectRefusal(t, 'huge-viewbox.svg', svg('<circle r="5"/>', 'viewBox="0 0 100000 100000"'), 422, 'image_too_large');
  });
});

describe('SVG by default', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('refuses SVG unless ALLOWED_FORMATS names it', async () => {
    await expectRefusal(t, 'clean.svg', CLEAN, 415, 'unsupported_format');
  });
});
