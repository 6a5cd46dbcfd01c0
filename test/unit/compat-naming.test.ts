// The seeds' naming rules: seed 000's python-slugify names and split, seed 003's suffix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedSlug } from '../../src/http/compat/seed-slug.js';
import { splitSeedName } from '../../src/http/compat/img-handler.js';
import { seedSuffix } from '../../src/http/compat/media-server.js';

describe('seed 000 names', () => {
  it('slugs stems as python-slugify does', () => {
    const cases: Record<string, string> = {
      'Été Photo (1)': 'ete-photo-1',
      'My Image': 'my-image',
      'my_image.v2': 'my-image-v2',
      "it's": 'it-s',
      'it’s': 'its',
      '1,000 views': '1000-views',
      'Straße Øst': 'strasse-ost',
      // References are decoded after transliteration: an accent left by NFKD separates, a decoded CJK character is dropped.
      'Tom &amp; Jerry &#233;t&#xE9;': 'tom-jerry-e-te',
      'caf&#233;': 'cafe',
      '&#29031;': '',
      '!!!': '',
    };
    for (const [stem, slug] of Object.entries(cases)) assert.equal(seedSlug(stem), slug, stem);
  });

  it('transliterates other scripts as Unidecode does (the outputs of python-slugify with Unidecode 1.3)', () => {
    const cases: Record<string, string> = {
      照片: 'zhao-pian',
      東京タワー: 'dong-jing-tawa',
      しゃしん: 'shiyashin',
      'Привет мир': 'privet-mir',
      'Київ Єва': 'kiiv-ieva',
      Ελληνικά: 'ellenika',
      안녕하세요: 'annyeonghaseyo',
      'שלום אבא': 'shlvm-aba',
      'Đà Nẵng': 'da-nang',
      'ﬁle ①': 'file-1',
      '₹100': 'rs100',
      '😀': '',
    };
    for (const [stem, slug] of Object.entries(cases)) assert.equal(seedSlug(stem), slug, stem);
  });

  it('splits at the last dot, a leading dot being no extension, and lowercases the extension', () => {
    assert.deepEqual(splitSeedName('Été Photo (1).PNG'), { stem: 'Été Photo (1)', ext: '.png' });
    assert.deepEqual(splitSeedName('.png'), { stem: '.png', ext: '' });
    assert.deepEqual(splitSeedName('archive.tar.JPEG'), { stem: 'archive.tar', ext: '.jpeg' });
    assert.deepEqual(splitSeedName('noext'), { stem: 'noext', ext: '' });
  });
});

describe('seed 003 suffixes', () => {
  it("is Python's Path.suffix, lowercased", () => {
    assert.equal(seedSuffix('photo.PNG'), '.png');
    assert.equal(seedSuffix('dir/notes.txt'), '.txt');
    assert.equal(seedSuffix('.bashrc'), '');
    assert.equal(seedSuffix('noext'), '');
    assert.equal(seedSuffix('a.tar.gz'), '.gz');
  });
});
