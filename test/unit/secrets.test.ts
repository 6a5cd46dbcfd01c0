// Constant-time secret comparison: right answers for any lengths and contents, and never an exception.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretEquals } from '../../src/lib/secrets.js';

describe('secretEquals', () => {
  it('is true for equal strings', () => {
    for (const s of ['a', 'test-admin-token-0123456789abcdef', 'x'.repeat(10_000), 'päss wörd 🙂', '']) {
      assert.equal(secretEquals(s, s), true, JSON.stringify(s.slice(0, 20)));
      assert.equal(secretEquals(s, `${s}`.slice(0)), true);
    }
  });

  it('is false for strings of the same length that differ', () => {
    assert.equal(secretEquals('abcdef', 'abcdeg'), false);
    assert.equal(secretEquals('Abcdef', 'abcdef'), false, 'case matters');
    assert.equal(secretEquals('token-1', 'token-2'), false);
  });

  it('is false, without throwing, for strings of different lengths', () => {
    const pairs: [string, string][] = [
      ['', 'x'],
      ['x', ''],
      ['secret', 'secret '],
      ['secret', 'secre'],
      ['short', 'a much, much longer secret than the other one'],
      ['x'.repeat(10_000), 'x'.repeat(10_001)],
    ];
    for (const [a, b] of pairs) {
      assert.doesNotThrow(() => secretEquals(a, b));
      assert.equal(secretEquals(a, b), false, `${a.length} vs ${b.length} characters`);
    }
  });

  it('compares characters, not bytes of some lossy encoding', () => {
    // Same length in UTF-16 code units, different UTF-8 bytes; and strings that differ only past a multi-byte character.
    assert.equal(secretEquals('é', 'e'), false);
    assert.equal(secretEquals('é', '\u0065\u0301'), false, 'no normalisation: the bytes decide');
    assert.equal(secretEquals('🙂a', '🙂b'), false);
    assert.equal(secretEquals('\u0000', ''), false, 'a NUL is not the end of the string');
    assert.equal(secretEquals('a\u0000b', 'a\u0000c'), false);
  });

  it('never throws, whatever the input', () => {
    const odd = ['\uD800', '\uDFFF', '\u0000'.repeat(64), '\r\n', ' ', 'Bearer x'];
    for (const a of odd) for (const b of odd) assert.doesNotThrow(() => secretEquals(a, b));
    assert.equal(secretEquals('\uD800', '\uD800'), true);
  });
});
