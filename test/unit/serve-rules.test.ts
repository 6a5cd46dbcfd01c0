// What a GET or HEAD of stored bytes answers: 200, 304 by ETag or date, 206 ranges, 416, If-Range.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideServe, type Servable, type ServeRequest } from '../../src/http/serve-rules.js';

const MODIFIED = new Date('2026-02-07T12:01:02.000Z');
const item: Servable = {
  etag: '"5e1f2d3c"',
  lastModified: MODIFIED,
  size: 1000,
  contentType: 'image/jpeg',
  cacheControl: 'public, max-age=3600',
};

const get = (headers: Record<string, string> = {}): ServeRequest => ({ method: 'GET', headers });
const head = (headers: Record<string, string> = {}): ServeRequest => ({ method: 'HEAD', headers });
const httpDate = (ms: number): string => new Date(ms).toUTCString();

describe('decideServe', () => {
  it('answers 200 with the whole body and the caching headers', () => {
    const d = decideServe(get(), item);
    assert.equal(d.status, 200);
    assert.equal(d.sendBody, true);
    assert.equal(d.range, undefined);
    assert.equal(d.headers['content-length'], '1000');
    assert.equal(d.headers['content-type'], 'image/jpeg');
    assert.equal(d.headers.etag, '"5e1f2d3c"');
    assert.equal(d.headers['last-modified'], 'Sat, 07 Feb 2026 12:01:02 GMT');
    assert.equal(d.headers['cache-control'], 'public, max-age=3600');
    assert.equal(d.headers['accept-ranges'], 'bytes');
    assert.equal(d.headers['x-content-type-options'], 'nosniff');
    assert.match(d.headers['content-security-policy'] ?? '', /sandbox/);
  });

  it('HEAD gets the same status and headers, and no body', () => {
    const d = decideServe(head(), item);
    assert.equal(d.status, 200);
    assert.equal(d.sendBody, false);
    assert.deepEqual(d.headers, decideServe(get(), item).headers);
  });

  describe('304 Not Modified', () => {
    it('when If-None-Match names the ETag (strong, weak, in a list, or *)', () => {
      for (const value of ['"5e1f2d3c"', 'W/"5e1f2d3c"', '"other", "5e1f2d3c"', '*']) {
        const d = decideServe(get({ 'if-none-match': value }), item);
        assert.equal(d.status, 304, value);
        assert.equal(d.sendBody, false, value);
        assert.equal(d.range, undefined, value);
        assert.equal(d.headers.etag, item.etag, value);
      }
    });

    it('not when If-None-Match names another ETag', () => {
      assert.equal(decideServe(get({ 'if-none-match': '"other"' }), item).status, 200);
    });

    it('when If-Modified-Since is at or after Last-Modified', () => {
      for (const value of [httpDate(MODIFIED.getTime()), httpDate(MODIFIED.getTime() + 86_400_000)]) {
        assert.equal(decideServe(get({ 'if-modified-since': value }), item).status, 304, value);
      }
    });

    it('not when If-Modified-Since is earlier, or not a date', () => {
      assert.equal(decideServe(get({ 'if-modified-since': httpDate(MODIFIED.getTime() - 1000) }), item).status, 200);
      assert.equal(decideServe(get({ 'if-modified-since': 'yesterday-ish' }), item).status, 200);
    });

    it('If-None-Match wins over If-Modified-Since', () => {
      const d = decideServe(get({ 'if-none-match': '"other"', 'if-modified-since': httpDate(MODIFIED.getTime() + 1000) }), item);
      assert.equal(d.status, 200, 'a changed ETag is not overruled by a recent date');
    });

    it('for HEAD too, and before any Range', () => {
      assert.equal(decideServe(head({ 'if-none-match': item.etag }), item).status, 304);
      assert.equal(decideServe(get({ 'if-none-match': item.etag, range: 'bytes=0-9' }), item).status, 304);
    });
  });

  describe('206 Partial Content', () => {
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=100-199', 100, 199],
      ['bytes=900-', 900, 999],
      ['bytes=-100', 900, 999],
      ['bytes=-5000', 0, 999],
      ['bytes=990-5000', 990, 999],
      ['bytes=999-999', 999, 999],
      ['bytes=0-0', 0, 0],
    ];
    for (const [range, start, end] of cases) {
      it(`${range} -> ${start}-${end}`, () => {
        const d = decideServe(get({ range }), item);
        assert.equal(d.status, 206);
        assert.deepEqual(d.range, { start, end });
        assert.equal(d.headers['content-range'], `bytes ${start}-${end}/1000`);
        assert.equal(d.headers['content-length'], String(end - start + 1));
        assert.equal(d.sendBody, true);
      });
    }

    it('HEAD with a range: 206 headers, no body', () => {
      const d = decideServe(head({ range: 'bytes=0-99' }), item);
      assert.equal(d.status, 206);
      assert.equal(d.headers['content-range'], 'bytes 0-99/1000');
      assert.equal(d.sendBody, false);
    });

    it('several ranges get the whole file with 200, which HTTP allows', () => {
      const d = decideServe(get({ range: 'bytes=0-9,500-509' }), item);
      assert.equal(d.status, 200);
      assert.equal(d.range, undefined);
      assert.equal(d.headers['content-length'], '1000');
    });

    it('overlapping ranges are combined into one', () => {
      const d = decideServe(get({ range: 'bytes=0-99,50-149' }), item);
      assert.equal(d.status, 206);
      assert.deepEqual(d.range, { start: 0, end: 149 });
    });

    it('a malformed or non-bytes Range is ignored: 200', () => {
      for (const range of ['bytes=abc', 'bytes=', 'lines=0-5', 'items=1-2']) {
        const d = decideServe(get({ range }), item);
        assert.equal(d.status, 200, range);
        assert.equal(d.range, undefined, range);
      }
    });

    it('a suffix longer than the file, among other ranges, still selects the whole file', () => {
      const d = decideServe(get({ range: 'bytes=-5000, 0-9' }), item);
      assert.equal(d.status, 206);
      assert.deepEqual(d.range, { start: 0, end: 999 });
    });

    it('a Range on an empty file is ignored: 200 with no bytes', () => {
      const d = decideServe(get({ range: 'bytes=0-10' }), { ...item, size: 0 });
      assert.equal(d.status, 200);
      assert.equal(d.headers['content-length'], '0');
    });
  });

  describe('416 Range Not Satisfiable', () => {
    // bytes=5-1 is an invalid range-spec, which RFC 9110 §14.2 lets a server ignore or reject; this one rejects it.
    for (const range of ['bytes=1000-', 'bytes=1000-1100', 'bytes=5000-6000', 'bytes=-0', 'bytes=5-1']) {
      it(range, () => {
        const d = decideServe(get({ range }), item);
        assert.equal(d.status, 416);
        assert.equal(d.headers['content-range'], 'bytes */1000');
        assert.equal(d.sendBody, false);
        assert.equal(d.range, undefined);
      });
    }
  });

  describe('If-Range', () => {
    it('with our strong ETag: the range is served', () => {
      const d = decideServe(get({ range: 'bytes=0-99', 'if-range': item.etag }), item);
      assert.equal(d.status, 206);
      assert.deepEqual(d.range, { start: 0, end: 99 });
    });

    it('with another ETag, or a weak one: the whole file', () => {
      for (const value of ['"other"', `W/${item.etag}`]) {
        const d = decideServe(get({ range: 'bytes=0-99', 'if-range': value }), item);
        assert.equal(d.status, 200, value);
        assert.equal(d.range, undefined, value);
      }
    });

    it('with a date at or after Last-Modified: the range; before it: the whole file', () => {
      assert.equal(decideServe(get({ range: 'bytes=0-99', 'if-range': httpDate(MODIFIED.getTime()) }), item).status, 206);
      assert.equal(decideServe(get({ range: 'bytes=0-99', 'if-range': httpDate(MODIFIED.getTime() - 1000) }), item).status, 200);
      assert.equal(decideServe(get({ range: 'bytes=0-99', 'if-range': 'not a date' }), item).status, 200);
    });

    it('that fails also skips a 416: the client gets the whole new file', () => {
      const d = decideServe(get({ range: 'bytes=5000-', 'if-range': '"other"' }), item);
      assert.equal(d.status, 200);
    });
  });

  it('takes the first of repeated headers', () => {
    const d = decideServe({ method: 'GET', headers: { range: ['bytes=0-9', 'bytes=10-19'] } }, item);
    assert.equal(d.status, 206);
    assert.deepEqual(d.range, { start: 0, end: 9 });
  });
});
