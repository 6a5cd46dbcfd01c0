// The benchmark runner's command line: what it reads, and what it refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from '../../bench/lib/options.js';

describe('bench options', () => {
  it('defaults to a full run of every scenario', () => {
    assert.deepEqual(parseOptions([]), { quick: false, only: undefined, keep: false, profile: false, soakSeconds: undefined });
  });

  it('reads --quick, --only (either form, any case), --keep, --profile and --soak (either form)', () => {
    const options = parseOptions(['--quick', '--only', 's3, S5', '--keep', '--profile', '--soak', '1800']);
    assert.equal(options.quick, true);
    assert.deepEqual([...options.only!], ['S3', 'S5']);
    assert.equal(options.keep, true);
    assert.equal(options.profile, true);
    assert.equal(options.soakSeconds, 1800);
    assert.equal(parseOptions(['--soak=60']).soakSeconds, 60);
    assert.deepEqual([...parseOptions(['--only=S7']).only!], ['S7']);
  });

  it('refuses a soak that is not whole seconds, or shorter than 8 s, or missing', () => {
    for (const bad of [['--soak', 'ten'], ['--soak', '7'], ['--soak', '12.5'], ['--soak', '-60'], ['--soak'], ['--soak=']]) {
      assert.throws(() => parseOptions(bad), /--soak takes whole seconds, at least 8/, bad.join(' '));
    }
  });

  it('refuses --only with no list, and unknown options', () => {
    assert.throws(() => parseOptions(['--only']), /--only needs a list/);
    assert.throws(() => parseOptions(['--fast']), /unknown option --fast/);
  });
});
