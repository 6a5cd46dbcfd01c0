// `imgd doctor`'s Node check: 24 and 22 pass, 20 is past its end of life (a warning), older fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNode } from '../../src/ops/doctor-checks.js';

describe('the Node version check', () => {
  it('passes Node 24 and 22, warns on Node 20 naming 24, and fails Node 18', () => {
    assert.equal(checkNode('24.22.3').status, 'ok');
    assert.equal(checkNode('22.11.0').status, 'ok');
    const old = checkNode('20.20.2');
    assert.equal(old.status, 'warn');
    assert.match(old.detail, /end of life.*Node 24/);
    assert.equal(checkNode('18.20.0').status, 'fail');
  });
});
