// Whether an upload's first bytes could start an SVG document (cheap; the parse at commit decides).

const BOM = [0xef, 0xbb, 0xbf];

/**
 * Whether the first bytes look like the start of an SVG document: optional UTF-8 BOM and whitespace, then an XML
 * declaration, a comment, an svg DOCTYPE or an <svg> tag. Only a guess; the full parse at commit decides.
 */
export function looksLikeSvg(head: Buffer): boolean {
  let at = BOM.every((b, i) => head[i] === b) ? BOM.length : 0;
  while (at < head.length && [0x20, 0x09, 0x0a, 0x0d].includes(head[at]!)) at += 1;
  const start = head.toString('latin1', at, at + 16).toLowerCase();
  return ['<?xml', '<!--', '<!doctype svg', '<svg'].some((prefix) => start.startsWith(prefix));
}
