// SVG at ingest: strict XML parse, entity DOCTYPEs and non-SVG roots refused, active content and external references removed.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import createDOMPurify, { type DOMPurify, type WindowLike } from 'dompurify';
import { JSDOM } from 'jsdom';
import { fsyncPath } from '../store/fsync.js';
import { ImgdError } from './errors.js';
import { cleanStylesheet, isSafeReference, isSafeValue } from './svg-css.js';

export const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';
const PARSER_ERROR_NAMESPACE = 'http://www.mozilla.org/newlayout/xml/parsererror.xml';

/**
 * Sanitizing builds a DOM in memory (a few times the file's size) on the main thread,
 * so SVGs get a smaller size limit than raster images.
 */
export const SVG_MAX_BYTES = 2 * 1024 * 1024;

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

/** Parses an SVG document; refuses what is not one, or declares entities, with a stable code. */
function parse(text: string, window: DomWindow): XmlElement {
  // Entities are refused before parsing: the parser would expand them (billion laughs), and SVG has no need of them.
  if (/<!ENTITY/i.test(text)) {
    throw new ImgdError('svg_entities', 'The SVG declares XML entities in its DOCTYPE; such files are refused (entity expansion attacks).');
  }
  const root = new window.DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
  if (root.namespaceURI === PARSER_ERROR_NAMESPACE) {
    // A broken SVG is a corrupt image; other text that merely started like XML (an HTML page) is no image at all.
    const code = /<svg[\s>]/.test(text) ? 'corrupt_image' : 'unsupported_format';
    throw new ImgdError(code, `The file is not a well-formed SVG document: ${root.textContent?.trim().slice(0, 200) ?? 'parse error'}.`);
  }
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

export interface SanitizedFile {
  readonly sha256: string;
  readonly bytes: number;
}

/** Rewrites a staged SVG with its sanitized form; the stored original (and so its hash) is the sanitized bytes. */
export async function sanitizeSvgFile(file: string): Promise<SanitizedFile> {
  const clean = Buffer.from(sanitizeSvg(await readFile(file)), 'utf8');
  await writeFile(file, clean);
  await fsyncPath(file);
  return { sha256: createHash('sha256').update(clean).digest('hex'), bytes: clean.length };
}
