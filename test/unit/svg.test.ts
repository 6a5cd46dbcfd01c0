// The SVG sanitizer's own rules: references, CSS, refusals, and the density variants are drawn at.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { sanitizeSvg } from '../../src/core/codecs/svg/svg.js';
import { cleanStylesheet, isSafeReference, isSafeValue } from '../../src/core/codecs/svg/svg-css.js';
import { svgDensity } from '../../src/core/codecs/svg/svg-raster.js';
import { looksLikeSvg } from '../../src/core/codecs/svg/svg-sniff.js';

const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const wrap = (body: string): string => `<svg ${NS} width="10" height="10">${body}</svg>`;

function refusal(input: string): string {
  try {
    sanitizeSvg(input);
  } catch (err) {
    assert.ok(err instanceof ImgdError, String(err));
    return err.code;
  }
  assert.fail(`accepted: ${input}`);
}

describe('isSafeReference', () => {
  it('keeps fragments and inline raster images, nothing else', () => {
    for (const ok of ['#a', ' #icon-1 ', 'data:image/png;base64,iVBO', 'DATA:image/jpeg;base64,/9j/', 'data:image/webp,x', 'data:image/gif;base64,R0lG']) {
      assert.equal(isSafeReference(ok), true, ok);
    }
    for (const bad of ['http://x/a.png', 'https://x/#a', '//x/a', 'file:///etc/passwd', 'javascript:alert(1)', ' javascript:1', 'data:text/html,<script>',
      'data:image/svg+xml,<svg/>', 'sprite.svg#a', '', '# a']) {
      assert.equal(isSafeReference(bad), false, bad);
    }
  });
});

describe('cleanStylesheet', () => {
  it('drops @import and declarations with external url(), keeping the rest', () => {
    const out = cleanStylesheet('@import url(http://x/a.css); @import "b.css"; a { fill: url(#g); stroke: url(http://x/p#q); color: red }', 'stylesheet');
    assert.doesNotMatch(out, /import|http/);
    assert.match(out, /fill:url\(#g\)/);
    assert.match(out, /color:red/);
  });

  it('drops fetching functions, escaped url(), custom properties hiding a url, and unknown at-rules', () => {
    for (const css of [
      'a { background: image-set("http://x/a.png" 1x) }',
      'a { background: u\\72l(http://x/a.png) }',
      'a { --u: url(http://x/a.png); fill: var(--u) }',
      '@namespace url(http://x/ns); a { color: red }',
      '@font-face { font-family: f; src: url(https://x/f.woff) }',
    ]) {
      assert.doesNotMatch(cleanStylesheet(css, 'stylesheet'), /http|\\72/, css);
    }
  });

  it('cleans style="" declaration lists', () => {
    assert.equal(cleanStylesheet("fill: red; background: url('https://x/b.png')", 'declarationList'), 'fill:red');
    assert.equal(cleanStylesheet('fill: red', 'declarationList'), 'fill: red', 'untouched when nothing is wrong');
  });
});

describe('isSafeValue', () => {
  it('allows fragment paints and plain functions, refuses external paints', () => {
    assert.equal(isSafeValue('url(#g)'), true);
    assert.equal(isSafeValue('rotate(45 5 5)'), true);
    assert.equal(isSafeValue('M0 0L10 10'), true);
    assert.equal(isSafeValue('url(http://x/p.svg#g)'), false);
    assert.equal(isSafeValue("url('file:///etc/passwd')"), false);
  });
});

describe('sanitizeSvg', () => {
  it('returns the <svg> element alone: no prolog, DOCTYPE, comments outside or processing instructions', () => {
    const out = sanitizeSvg(
      `\ufeff<?xml version="1.0"?>\n<!-- before -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n` +
        `<?xml-stylesheet href="http://x/s.css"?>${wrap('<?pi x?><rect width="1" height="1"/>')}`,
    );
    assert.match(out, /^<svg /);
    assert.doesNotMatch(out, /DOCTYPE|<\?|before|http:\/\/x/);
    assert.match(out, /<rect width="1" height="1"\/>/);
  });

  it('keeps camelCase SVG elements and attributes, <use> of fragments and inline images', () => {
    const body = '<defs><linearGradient id="g"/><clipPath id="c"/><filter id="f"><feGaussianBlur stdDeviation="2"/></filter></defs>' +
      '<use xlink:href="#g"/><image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/><g clip-path="url(#c)" filter="url(#f)"/>';
    const out = sanitizeSvg(wrap(body).replace('width="10"', 'viewBox="0 0 10 10" preserveAspectRatio="none" width="10"'));
    for (const kept of ['<linearGradient id="g"/>', '<clipPath id="c"/>', '<feGaussianBlur stdDeviation="2"/>', 'xlink:href="#g"', 'href="data:image/png', 'viewBox="0 0 10 10"', 'preserveAspectRatio', 'clip-path="url(#c)"']) {
      assert.ok(out.includes(kept), `${kept} in ${out}`);
    }
  });

  it('removes scripts, handlers, foreign content and every reference outside the file', () => {
    const out = sanitizeSvg(wrap(
      '<script>alert(1)</script><rect onclick="x()" width="1" height="1" fill="url(http://x/p#g)"/>' +
        '<a href="javascript:alert(1)"><text>t</text></a><a xlink:href="https://x/">l</a><use href="http://x/s.svg#i"/>' +
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject><g xml:base="http://x/"/>' +
        '<image href="data:image/svg+xml;base64,PHN2Zz4=" width="1" height="1"/><style>@import "http://x/a.css"; rect { fill: blue }</style>',
    ));
    assert.doesNotMatch(out, /script|onclick|javascript|http:\/\/x|https|foreignObject|html|xml:base|svg\+xml|@import/i);
    assert.match(out, /rect\{fill:blue\}/);
    assert.match(out, /<text>t<\/text>/);
  });

  it('refuses entity declarations, non-SVG roots, missing namespaces and broken XML with stable codes', () => {
    assert.equal(refusal(`<!DOCTYPE svg [<!ENTITY a "b">]>${wrap('&a;')}`), 'svg_entities');
    assert.equal(refusal(`<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://x/p.dtd"> %p;]>${wrap('')}`), 'svg_entities');
    assert.equal(refusal('<?xml version="1.0"?><note><to>x</to></note>'), 'unsupported_format');
    assert.equal(refusal('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'), 'unsupported_format');
    assert.equal(refusal('<svg width="1" height="1"/>'), 'unsupported_format');
    assert.equal(refusal(`<svg ${NS}><g></svg>`), 'corrupt_image');
    assert.equal(refusal('<!-- nothing but a comment -->'), 'unsupported_format');
    assert.equal(refusal(wrap('&undefined;')), 'corrupt_image');
    assert.equal(refusal(wrap('<g>'.repeat(200) + '</g>'.repeat(200))), 'svg_too_complex');
    assert.equal(refusal(wrap('<g/>'.repeat(10_001))), 'svg_too_complex');
  });
});

describe('looksLikeSvg', () => {
  it('takes XML-looking text as a candidate, and nothing else', () => {
    for (const yes of ['<svg>', '  \n<?xml version="1.0"?>', '\ufeff<svg', '<!-- c --><svg', '<!DOCTYPE svg PUBLIC']) assert.equal(looksLikeSvg(Buffer.from(yes)), true, yes);
    for (const no of ['', 'svg', 'hello <svg>', '<!doctype html>', '<html>', '\x89PNG']) assert.equal(looksLikeSvg(Buffer.from(no)), false, no);
  });
});

describe('svgDensity', () => {
  const limit = 40_000_000;
  it('draws at 72 dpi when the declared size already covers the variant', () => {
    assert.equal(svgDensity({ width: 400, height: 300 }, { width: 256, height: 256 }, limit), 72);
  });
  it('draws larger when the variant asks for more than the declared size, a pixel over for rounding', () => {
    assert.equal(svgDensity({ width: 24, height: 24 }, { width: 128, height: null }, limit), (72 * 129) / 24);
  });
  it('stays within the pixel limit', () => {
    const density = svgDensity({ width: 100, height: 100 }, { width: 16384, height: 16384 }, limit);
    const side = (100 * density) / 72;
    assert.ok(side * side <= limit + 1, String(side));
  });
});
