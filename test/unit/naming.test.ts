// Stored names: slugs that are never paths or empty, and the UTC stamp that resolves collisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collisionName, slugStem, storedName, utcStamp } from '../../src/core/upload/naming.js';

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

describe('slugStem', () => {
  it('lowercases, drops the extension and joins words with dashes', () => {
    assert.equal(slugStem('My Photo (1).JPG'), 'my-photo-1');
    assert.equal(slugStem('DSCN0010.jpg'), 'dscn0010');
    assert.equal(slugStem('  spaced   out  .png'), 'spaced-out');
    assert.equal(slugStem('snake_case_name.webp'), 'snake-case-name');
    assert.equal(slugStem('archive.tar.gz'), 'archive-tar');
    assert.equal(slugStem('no-extension'), 'no-extension');
  });

  it('folds accents to plain letters', () => {
    assert.equal(slugStem('Café Crème.jpg'), 'cafe-creme');
    assert.equal(slugStem('Ångström Åre.png'), 'angstrom-are');
    assert.equal(slugStem('naïve résumé.jpeg'), 'naive-resume');
    assert.equal(slugStem('ﬁle.jpg'), 'file', 'compatibility forms too');
  });

  it('keeps only the last path segment, so a name is never a path', () => {
    assert.equal(slugStem('../../etc/passwd'), 'passwd');
    assert.equal(slugStem('/etc/shadow'), 'shadow');
    assert.equal(slugStem('..\\..\\Windows\\win.ini'), 'win');
    assert.equal(slugStem('photos/2024/IMG_1.jpg'), 'img-1');
    assert.equal(slugStem('dir/'), 'image');
    assert.equal(slugStem('..'), 'image');
  });

  it('falls back to "image" for names with nothing usable', () => {
    assert.equal(slugStem(undefined), 'image');
    assert.equal(slugStem(''), 'image');
    assert.equal(slugStem('   '), 'image');
    assert.equal(slugStem('.jpg'), 'jpg', 'a leading dot is not an extension');
    assert.equal(slugStem('....'), 'image');
    assert.equal(slugStem('日本語.png'), 'image');
    assert.equal(slugStem('🙂🙂.gif'), 'image');
    assert.equal(slugStem('\u0000\u0001.jpg'), 'image');
  });

  it('cuts very long names to 80 characters without a trailing dash', () => {
    assert.equal(slugStem(`${'a'.repeat(300)}.jpg`), 'a'.repeat(80));
    const cut = slugStem(`${'abcd '.repeat(40)}.jpg`); // a word boundary falls exactly on the cut
    assert.ok(cut.length <= 80);
    assert.match(cut, SLUG);
  });

  it('always gives a non-empty slug of [a-z0-9-] with no path parts', () => {
    const nasty = [
      '../../etc/passwd',
      '..%2F..%2Fetc%2Fpasswd',
      'C:\\boot.ini',
      'a/../../b.png',
      '<script>alert(1)</script>.png',
      'name\nwith\nnewlines.jpg',
      'x'.repeat(5000),
      '-leading-and-trailing-.png',
      'ÀÉÎÕÜ-ñ-ç.JPG',
      '\u202Egnp.exe',
      '.hidden',
      'con.jpg',
    ];
    for (const name of nasty) {
      const slug = slugStem(name);
      assert.match(slug, SLUG, JSON.stringify(name));
      assert.ok(slug.length >= 1 && slug.length <= 80, JSON.stringify(name));
    }
  });
});

describe('utcStamp', () => {
  it('formats UTC to the microsecond: 20260207T120102123456Z', () => {
    assert.equal(utcStamp(new Date('2026-02-07T12:01:02.123Z'), 456), '20260207T120102123456Z');
    assert.equal(utcStamp(new Date('2026-12-31T23:59:59.999Z'), 999), '20261231T235959999999Z');
    assert.equal(utcStamp(new Date('2026-01-01T00:00:00.000Z'), 7), '20260101T000000000007Z');
  });

  it('uses UTC whatever the local time zone', () => {
    // 13:01:02 at +01:00 is 12:01:02 UTC.
    assert.equal(utcStamp(new Date('2026-02-07T13:01:02.123+01:00'), 0), '20260207T120102123000Z');
  });

  it('has the same shape with the default clock', () => {
    assert.match(utcStamp(), /^\d{8}T\d{12}Z$/);
  });
});

describe('storedName and collisionName', () => {
  it('joins stem and extension', () => {
    assert.equal(storedName('my-photo', 'jpg'), 'my-photo.jpg');
  });

  it('puts the UTC stamp between stem and extension', () => {
    const name = collisionName('my-photo', 'jpg', new Date('2026-02-07T12:01:02.123Z'));
    assert.match(name, /^my-photo_20260207T120102123\d{3}Z\.jpg$/);
    assert.match(collisionName('image', 'webp'), /^image_\d{8}T\d{12}Z\.webp$/);
  });

  it('never equals the plain stored name', () => {
    assert.notEqual(collisionName('photo', 'png'), storedName('photo', 'png'));
  });
});
