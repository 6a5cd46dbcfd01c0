// The sanitizer threads: refusals keep their code, and a file over its time budget is refused without stopping the others.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { createSvgSanitizer } from '../../src/core/codecs/svg/svg-thread.js';

const NS = 'xmlns="http://www.w3.org/2000/svg"';
const svg = (body: string): Buffer => Buffer.from(`<svg ${NS} width="10" height="10">${body}</svg>`);

describe('the SVG sanitizer pool', () => {
  const sanitizer = createSvgSanitizer({ threads: 1, queue: 4 });
  after(() => sanitizer.close());

  it('sanitizes on a worker thread and reports refusals with their code', async () => {
    assert.equal(await sanitizer.sanitize(svg('<circle r="1" onclick="x()"/>')), `<svg ${NS} width="10" height="10"><circle r="1"/></svg>`);
    await assert.rejects(sanitizer.sanitize(Buffer.from('<!DOCTYPE svg [<!ENTITY a "b">]><svg/>')), (err: unknown) => err instanceof ImgdError && err.code === 'svg_entities');
  });

  it('refuses a file over its time budget and goes on with a fresh thread for the files queued behind it', async () => {
    const slow = sanitizer.sanitize(svg('<g><rect width="1" height="1"/></g>'.repeat(4_000)), 1);
    const next = sanitizer.sanitize(svg('<rect width="2" height="2"/>'));
    await assert.rejects(slow, (err: unknown) => err instanceof ImgdError && err.code === 'svg_too_complex');
    assert.match(await next, /<rect width="2" height="2"\/>/);
  });
});
