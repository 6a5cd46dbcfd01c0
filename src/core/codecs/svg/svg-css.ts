// CSS inside SVG (<style>, style="", presentation attributes): drop every rule that could fetch something outside the file.
import { generate, parse, walk, type CssNode, type List, type ListItem } from 'css-tree';

/** A reference that stays inside the file: a fragment of this document, or an inline raster image. */
export function isSafeReference(value: string): boolean {
  const v = value.trim();
  return /^#[^\s]*$/.test(v) || /^data:image\/(?:png|jpeg|gif|webp)[;,]/i.test(v);
}

/** At-rules that only group or describe; @import, @namespace and anything unknown go. */
const KEPT_AT_RULES = new Set(['media', 'supports', 'keyframes', '-webkit-keyframes', 'font-face', 'layer', 'container', 'page']);
/** Functions that load a resource (besides url()), or that old engines ran as script. */
const FETCHING_FUNCTIONS = new Set(['url', 'src', 'image-set', '-webkit-image-set', 'image', 'element', 'expression', 'cross-fade']);
/** Unparsed text (custom properties, broken CSS) is kept only when it cannot hide a fetch. */
const RISKY_RAW = /url\s*\(|image-set|src\s*\(|@import|expression|\\/i;

/** The nodes that must go: whole declarations, rules or at-rules that hold a forbidden piece. */
function doomedNodes(ast: CssNode): Set<CssNode> {
  const doomed = new Set<CssNode>();
  walk(ast, function (node) {
    let bad = false;
    if (node.type === 'Atrule') {
      if (!KEPT_AT_RULES.has(node.name.toLowerCase())) {
        doomed.add(node);
        return;
      }
    } else if (node.type === 'Url') {
      bad = !isSafeReference(node.value);
    } else if (node.type === 'Function') {
      // An escaped name (u\72l) is still url() to a browser.
      bad = FETCHING_FUNCTIONS.has(node.name.toLowerCase()) || node.name.includes('\\');
    } else if (node.type === 'Raw') {
      bad = RISKY_RAW.test(node.value);
    }
    if (bad) doomed.add(this.declaration ?? this.rule ?? this.atrule ?? node);
  });
  return doomed;
}

const parseQuietly = (css: string, context: string): CssNode =>
  parse(css, { context, parseValue: true, parseAtrulePrelude: true, parseRulePrelude: true, onParseError: () => undefined });

/** The stylesheet (or style="" declaration list) without the rules that reach outside. */
export function cleanStylesheet(css: string, context: 'stylesheet' | 'declarationList'): string {
  const ast = parseQuietly(css, context);
  const doomed = doomedNodes(ast);
  if (doomed.size === 0) return css;
  if (doomed.has(ast)) return '';
  const removals: [List<CssNode>, ListItem<CssNode>][] = [];
  walk(ast, (node, item, list) => {
    if (doomed.has(node) && list) removals.push([list, item]);
  });
  for (const [list, item] of removals) list.remove(item);
  return generate(ast);
}

/** Whether an attribute value, read as a CSS value, references nothing outside the file. */
export function isSafeValue(value: string): boolean {
  if (!value.includes('(') && !value.includes('\\')) return true;
  return doomedNodes(parseQuietly(value, 'value')).size === 0;
}
