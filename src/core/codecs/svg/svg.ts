// SVG at ingest: strict XML parse, entity DOCTYPEs and non-SVG roots refused, active content and external references removed.
import createDOMPurify, { type DOMPurify, type WindowLike } from 'dompurify';
import { JSDOM } from 'jsdom';
import { SaxesParser } from 'saxes';
import { ImgdError } from '../../errors.js';
import { cleanStylesheet, isSafeReference, isSafeValue } from './svg-css.js';

export const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';
const PARSER_ERROR_NAMESPACE = 'http://www.mozilla.org/newlayout/xml/parsererror.xml';

/** The server-side DOM costs about 0.1 ms an element: bounded so one file cannot keep a core busy for long. */
export const SVG_MAX_ELEMENTS = 10_000;
/** Real drawings nest a few dozen levels; thousands only serve to exhaust recursive code. */
export const SVG_MAX_DEPTH = 128;

/** The few DOM shapes used here (the server is compiled without the DOM lib). */
interface XmlElement {
  readonly namespaceURI: string | null;
  readonly localName: string;
  textContent: string | null;
  getElementsByTagNameNS(namespace: string, name: string): ArrayLike<XmlElement>;
}

interface DomWindow {
  readonly DOMParser: new () => { parseFromString(text: string, type: string): { readonly documentElement: XmlElement } };
  readonly XMLSerializer: new () => { serializeToString(node: XmlElement): string };
}

let purifier: { purify: DOMPurify; window: DomWindow } | undefined;

/** One server-side DOM and DOMPurify instance for the process, with imgd's reference rules as hooks. */
function instance(): { purify: DOMPurify; window: DomWindow } {
  if (purifier) return purifier;
  const window = new JSDOM('').window as DomWindow;
  const purify = createDOMPurify(window as unknown as WindowLike);
  purify.addHook('uponSanitizeAttribute', (_node, data) => {
    const name = data.attrName.toLowerCase();
    if (name === 'href' || name.endsWith(':href')) {
      data.keepAttr = isSafeReference(data.attrValue);
    } else if (name === 'xml:base') {
      data.keepAttr = false;
    } else if (name === 'style') {
      data.attrValue = cleanStylesheet(data.attrValue, 'declarationList');
    } else if (!isSafeValue(data.attrValue)) {
      // Presentation attributes take url(): fill="url(http://...)" would fetch a paint server.
      data.keepAttr = false;
    }
  });
  purifier = { purify, window };
  return purifier;
}

/** A broken SVG is a corrupt image; other text that merely started like XML (an HTML page) is no image at all. */
const malformed = (text: string, why: string): ImgdError =>
  new ImgdError(/<svg[\s>/]/.test(text) ? 'corrupt_image' : 'unsupported_format', `The file is not a well-formed SVG document: ${why.slice(0, 200)}.`);

/**
 * A streaming pass before any DOM is built: entity declarations, size and depth are refused here, cheaply.
 * This parser never expands entities; the DOM parser after it would (billion laughs), and SVG has no need of them.
 */
function checkStructure(text: string): void {
  const sax = new SaxesParser({ position: false });
  let depth = 0;
  let elements = 0;
  sax.on('doctype', (doctype) => {
    if (/<!ENTITY/i.test(doctype)) {
      throw new ImgdError('svg_entities', 'The SVG declares XML entities in its DOCTYPE; such files are refused (entity expansion attacks).');
    }
  });
  sax.on('opentagstart', () => {
    elements += 1;
    depth += 1;
    if (elements > SVG_MAX_ELEMENTS || depth > SVG_MAX_DEPTH) {
      throw new ImgdError('svg_too_complex', `The SVG has more than ${SVG_MAX_ELEMENTS} elements or nests them deeper than ${SVG_MAX_DEPTH} levels.`, {
        elements: SVG_MAX_ELEMENTS,
        depth: SVG_MAX_DEPTH,
      });
    }
  });
  sax.on('closetag', () => {
    depth -= 1;
  });
  try {
    sax.write(text).close();
  } catch (err) {
    if (err instanceof ImgdError) throw err;
    throw malformed(text, (err as Error).message);
  }
}

/** Parses an SVG document; refuses what is not one, or declares entities, with a stable code. */
function parse(text: string, window: DomWindow): XmlElement {
  checkStructure(text);
  const root = new window.DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
  if (root.namespaceURI === PARSER_ERROR_NAMESPACE) throw malformed(text, root.textContent?.trim() ?? 'parse error');
  if (root.localName !== 'svg') {
    throw new ImgdError('unsupported_format', `The XML document is not an SVG image: its root element is <${root.localName}>.`);
  }
  if (root.namespaceURI !== SVG_NAMESPACE) {
    throw new ImgdError('unsupported_format', `The <svg> root must declare xmlns="${SVG_NAMESPACE}".`);
  }
  return root;
}

/** The sanitized document: the <svg> element alone (no prolog, DOCTYPE or processing instructions), as UTF-8 text. */
export function sanitizeSvg(input: Buffer | string): string {
  const { purify, window } = instance();
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { ignoreBOM: false }).decode(input);
  const root = parse(text, window);
  try {
    purify.sanitize(root, {
      IN_PLACE: true,
      USE_PROFILES: { svg: true, svgFilters: true },
      // <use> is safe once its href may only name a fragment of this document (the hook above).
      ADD_TAGS: ['use'],
      FORBID_TAGS: ['foreignObject', 'foreignobject', 'script', 'iframe', 'embed', 'object'],
    });
    for (const style of Array.from(root.getElementsByTagNameNS(SVG_NAMESPACE, 'style'))) {
      style.textContent = cleanStylesheet(style.textContent ?? '', 'stylesheet');
    }
    return new window.XMLSerializer().serializeToString(root);
  } catch (err) {
    // Pathological documents (nesting deep enough to exhaust the stack) end here rather than as a 500.
    throw new ImgdError('corrupt_image', `The SVG cannot be sanitized: ${(err as Error).message}`);
  }
}
