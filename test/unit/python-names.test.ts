// File names as the seeds' Python libraries made them: werkzeug's secure_filename, Starlette's Content-Disposition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentDisposition, lastDotSuffix, pythonQuote, secureFilename } from '../../src/http/compat/python-names.js';

describe('python names', () => {
  it("make a name safe as werkzeug's secure_filename does", () => {
    assert.equal(secureFilename('../My Photo (1).png'), 'My_Photo_1.png');
    assert.equal(secureFilename('Été à Paris.jpg'), 'Ete_a_Paris.jpg');
    assert.equal(secureFilename('照片.png'), 'png');
    assert.equal(secureFilename('a\u001cb  c/d.png'), 'a_b_c_d.png');
    assert.equal(secureFilename('..'), '');
  });

  it("quote and dispose as urllib and Starlette do", () => {
    assert.equal(pythonQuote("a b/é~'()*"), 'a%20b/%C3%A9~%27%28%29%2A');
    assert.equal(attachmentDisposition('photo.jpg'), 'attachment; filename="photo.jpg"');
    assert.equal(attachmentDisposition('My "quoted" été.jpg'), "attachment; filename*=utf-8''My%20%22quoted%22%20%C3%A9t%C3%A9.jpg");
  });

  it('take the suffix after the last dot, or the whole name without one', () => {
    assert.equal(lastDotSuffix('a.b.JPG'), 'jpg');
    assert.equal(lastDotSuffix('README'), 'readme');
  });
});
