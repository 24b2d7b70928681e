import { createHash, randomBytes } from 'node:crypto';
import { defaultTreeAdapter as tree, html, parse, serialize, type DefaultTreeAdapterMap } from 'parse5';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];
type ParentNode = DefaultTreeAdapterMap['parentNode'];
type Document = DefaultTreeAdapterMap['document'];

/**
 * A page layout (B2C's custom page contract) made safe to serve: parsed as a browser parses it
 * (parse5 follows the HTML standard, so what is checked is what the browser will see), stripped of what
 * could take the page over, with relative asset URLs made absolute, and the Content-Security-Policy
 * sources its assets need. Latchkey's form goes where `<div id="api">` was.
 *
 * What is served is the sanitized tree written out again, and the browser parses that text anew. Where
 * written-out HTML parses into a different tree (mutation XSS: foreign content, obsolete raw-text
 * elements, comments, nesting deeper than browsers build), a checked tree could come back with a form
 * in it. So the template is parsed, sanitized and written out until the text stops changing, and the
 * elements that make such differences are removed outright.
 */
export interface SanitizedTemplate {
  /** The document up to the content of `<div id="api">`, with `langToken` where the page's language goes. */
  before: string;
  langToken: string;
  /** The document after the content of `<div id="api">`. */
  after: string;
  /** Origins of the template's stylesheets, images, fonts and media (and of the template itself). */
  assetOrigins: string[];
  /** Origins of its scripts (only when JavaScript is enabled for the page). */
  scriptOrigins: string[];
  /** CSP hashes of its inline `<script>` elements in `<head>` (JavaScript enabled only). */
  scriptHashes: string[];
  /** CSP hashes of its `<style>` elements and `style` attributes. */
  styleHashes: string[];
  /** What was taken out, for the log and `policy validate` (e.g. "form", "script in body"). */
  removed: string[];
}

export class TemplateError extends Error {}

/** Elements that never survive: they could post the user's password elsewhere or frame other pages. */
const DROPPED = new Set(['form', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'portal', 'fencedframe']);
/**
 * MathML and SVG foreign content, with everything in it. Inside `<math>` and `<svg>` the parser
 * follows other rules (a `<style>` holds markup, some HTML tags break out), and every published
 * mutation-XSS bypass of HTML sanitizers switches namespaces to make a checked tree parse differently
 * once written out. B2C's layout contract needs neither: a template is an HTML page with
 * `<div id="api">`, and its pictures (SVG logos included) load with `<img src>`, which stays.
 */
const FOREIGN = new Set(['math', 'svg']);
/**
 * Elements whose content is text to one parser and markup to another: `<noscript>` is text when
 * scripting is on (as parse5 and most browsers read it) and markup when it is off; `<xmp>`,
 * `<plaintext>`, `<noembed>`, `<noframes>` and `<listing>` are obsolete raw-text (or newline-eating)
 * elements that a layout does not need.
 */
const PARSER_DEPENDENT = new Set(['noscript', 'xmp', 'plaintext', 'noembed', 'noframes', 'listing']);
/** Attributes holding a URL, resolved against the template's address. */
const URL_ATTRS = new Set(['href', 'src', 'poster', 'background']);
/** Attributes that would tie the template's buttons to Latchkey's forms or send a form elsewhere. */
const DROPPED_ATTRS = new Set(['form', 'formaction', 'action']);
/**
 * Ancestors that would swallow the form: inside a link, button, label or summary, a click anywhere in
 * it is the template's click.
 */
const SWALLOWING = new Set(['a', 'button', 'label', 'summary']);
const MAX_HASHES = 200;
/** Parse, sanitize, write out: a template still changing after this many rounds is refused. */
const MAX_ROUNDS = 5;
/**
 * Browsers stop nesting elements at a depth (Chromium at 512) where parse5 does not, so a deeper
 * template would be built differently; with room for Latchkey's form inside `#api`.
 */
const MAX_DEPTH = 256;

/**
 * Markup like Latchkey's pages put in `#api` (every element they use, as parse5 writes it out). The
 * template around `#api` must leave it exactly as it is: one form, the same tree.
 */
const PROBE =
  '<div class="heading"><h1>T</h1><h2>S</h2></div><div class="error pageLevel" role="alert"><p><strong>e</strong> <code>c</code> <span>s</span></p></div>' +
  '<form id="localAccountForm" method="post" action="/t/p/journey/j" novalidate=""><input type="hidden" name="csrf" value="v">' +
  '<ul><li><label for="a">A</label><input id="a" name="a" type="email"><select id="b" name="b"><option value="1">1</option></select>' +
  '<textarea id="c" name="c">t</textarea><input type="checkbox" id="d" name="d"></li></ul>' +
  '<ol><li><code>r</code></li></ol><div class="qrCode"><svg viewBox="0 0 1 1"><path d="M0 0h1v1H0z"></path></svg></div>' +
  '<noscript><p>n</p></noscript><div class="buttons"><button type="submit" id="next">N</button><a id="forgotPassword" href="/x">F</a></div></form>' +
  '<script src="/static/passkey.js" defer=""></script>';

export interface SanitizeOptions {
  /** The template's own address (relative URLs resolve against it). */
  baseUrl: string;
  /** B2C's "Enable JavaScript" for the page: scripts in `<head>` are kept. */
  javaScript: boolean;
  /** Attributes set on `<div id="api">` (B2C's `data-name` of the page type). */
  apiAttributes?: Record<string, string>;
}

const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function attr(el: Element, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

function setAttr(el: Element, name: string, value: string): void {
  const a = el.attrs.find((x) => x.name === name);
  if (a) a.value = value;
  else el.attrs.push({ name, value });
}

function isElement(n: Node): n is Element {
  return 'tagName' in n;
}

function children(n: Node): Node[] {
  return 'childNodes' in n ? (n as ParentNode).childNodes : [];
}

function textOf(el: Element): string {
  return children(el)
    .map((c) => (c.nodeName === '#text' ? (c as DefaultTreeAdapterMap['textNode']).value : ''))
    .join('');
}

function findById(n: Node, id: string): Element | undefined {
  if (isElement(n) && attr(n, 'id') === id) return n;
  for (const c of children(n)) {
    const found = findById(c, id);
    if (found) return found;
  }
  return undefined;
}

function findTag(n: Node, tag: string): Element | undefined {
  if (isElement(n) && n.tagName === tag) return n;
  for (const c of children(n)) {
    const found = findTag(c, tag);
    if (found) return found;
  }
  return undefined;
}

/** Elements named `tag`, template contents included. */
function countTag(n: Node, tag: string): number {
  let count = isElement(n) && n.tagName === tag ? 1 : 0;
  const inner = isElement(n) && n.tagName === 'template' ? [...children(n), (n as DefaultTreeAdapterMap['template']).content] : children(n);
  for (const c of inner) count += countTag(c, tag);
  return count;
}

/** A URL in the template, made absolute; undefined for a scheme that runs code. */
function resolve(raw: string, base: string): URL | undefined {
  const value = raw.trim();
  if (value === '' || value.startsWith('#')) return undefined;
  try {
    const url = new URL(value, base);
    if (url.protocol === 'javascript:' || url.protocol === 'vbscript:') return undefined;
    return url;
  } catch {
    return undefined;
  }
}

/** Whether a template (as text) has the element Latchkey's form goes into. */
function hasApiElement(htmlText: string): boolean {
  return findById(parse(htmlText), 'api') !== undefined;
}

/**
 * The parser eats one newline right after `<pre>` and `<textarea>`, and parse5 does not write it back
 * (nor do browsers): a text that starts with one gets another, so it reads back as it is.
 */
function keepLeadingNewlines(n: Node): void {
  if (isElement(n) && (n.tagName === 'pre' || n.tagName === 'textarea')) {
    const first = n.childNodes[0];
    if (first?.nodeName === '#text') {
      const text = first as DefaultTreeAdapterMap['textNode'];
      if (text.value.startsWith('\n')) text.value = `\n${text.value}`;
    }
  }
  for (const c of children(n)) keepLeadingNewlines(c);
  if (isElement(n) && n.tagName === 'template') keepLeadingNewlines((n as DefaultTreeAdapterMap['template']).content);
}

/** Why the server would not serve a template (undefined when it would): for `policy validate` and the loader. */
export function templateProblem(htmlText: string, javaScript: boolean): string | undefined {
  try {
    sanitizeTemplate(htmlText, { baseUrl: 'https://template.invalid/', javaScript });
    return undefined;
  } catch (err) {
    if (err instanceof TemplateError) return err.message;
    throw err;
  }
}

/** What one round of sanitizing found and took out. */
interface Pass {
  assetOrigins: Set<string>;
  scriptOrigins: Set<string>;
  scriptHashes: Set<string>;
  styleHashes: Set<string>;
  removed: string[];
}

/** One round: takes out of `doc` what must not be served and rewrites its URLs, in place. */
function sanitizeTree(doc: Document, o: SanitizeOptions): Pass {
  const api = findById(doc, 'api');
  const pass: Pass = { assetOrigins: new Set([new URL(o.baseUrl).origin]), scriptOrigins: new Set(), scriptHashes: new Set(), styleHashes: new Set(), removed: [] };
  const { assetOrigins, removed } = pass;

  const rewriteCssUrls = (css: string): string =>
    css.replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/g, (whole, quote: string, raw: string) => {
      if (raw.trim().startsWith('data:')) return whole;
      const url = resolve(raw, o.baseUrl);
      if (!url) return 'url("")';
      assetOrigins.add(url.origin);
      return `url(${quote}${url.href}${quote})`;
    });

  const visit = (parent: ParentNode, inHead: boolean, depth: number): void => {
    if (depth > MAX_DEPTH) throw new TemplateError(`the template nests elements more than ${MAX_DEPTH} deep`);
    for (const node of [...parent.childNodes]) {
      // Comments are not needed and have been the way into more than one sanitizer.
      if (node.nodeName === '#comment') {
        tree.detachNode(node);
        continue;
      }
      if (!isElement(node)) continue;
      const tag = node.tagName;
      if (node.namespaceURI !== html.NS.HTML || FOREIGN.has(tag) || DROPPED.has(tag) || PARSER_DEPENDENT.has(tag)) {
        removed.push(tag);
        tree.detachNode(node);
        continue;
      }
      if (tag === 'meta' && attr(node, 'http-equiv') !== undefined) {
        removed.push('meta http-equiv');
        tree.detachNode(node);
        continue;
      }
      if (tag === 'script') {
        if (!o.javaScript || !inHead) {
          removed.push(o.javaScript ? 'script in body' : 'script');
          tree.detachNode(node);
          continue;
        }
      }
      // Event handlers and code in URLs never run (the CSP would stop them; they go anyway). A
      // declarative shadow root (`<template shadowrootmode>`) is built by browsers, not by parse5.
      node.attrs = node.attrs.filter((a) => {
        const name = a.name.toLowerCase();
        if (name.startsWith('on') || name.startsWith('shadowroot') || DROPPED_ATTRS.has(name)) {
          removed.push(`${a.name} attribute`);
          return false;
        }
        return true;
      });
      for (const a of [...node.attrs]) {
        const name = a.name.toLowerCase();
        if (URL_ATTRS.has(name)) {
          const url = resolve(a.value, o.baseUrl);
          if (!url) {
            if (a.value.trim() !== '' && !a.value.trim().startsWith('#')) {
              removed.push(`${name}="${a.value.slice(0, 40)}"`);
              node.attrs = node.attrs.filter((x) => x !== a);
            }
            continue;
          }
          a.value = url.href;
          if (tag === 'script') pass.scriptOrigins.add(url.origin);
          else if (tag !== 'a' && tag !== 'area') assetOrigins.add(url.origin);
        } else if (name === 'srcset') {
          a.value = a.value
            .split(',')
            .map((candidate) => {
              const [u = '', ...descriptor] = candidate.trim().split(/\s+/);
              const url = resolve(u, o.baseUrl);
              if (!url) return '';
              assetOrigins.add(url.origin);
              return [url.href, ...descriptor].join(' ');
            })
            .filter(Boolean)
            .join(', ');
        } else if (name === 'style') {
          a.value = rewriteCssUrls(a.value);
          pass.styleHashes.add(cspHash(a.value));
        }
      }
      if (tag === 'style') {
        const text = node.childNodes[0];
        if (text && text.nodeName === '#text') {
          const t = text as DefaultTreeAdapterMap['textNode'];
          t.value = rewriteCssUrls(t.value);
        }
        pass.styleHashes.add(cspHash(textOf(node)));
      }
      if (tag === 'script' && attr(node, 'src') === undefined) pass.scriptHashes.add(cspHash(textOf(node)));
      if (node === api) continue; // its content is replaced
      const content = tag === 'template' ? (node as DefaultTreeAdapterMap['template']).content : node;
      visit(content, inHead || tag === 'head', depth + 1);
    }
  };
  visit(doc, false, 0);
  // Latchkey's content replaces whatever the template put in #api.
  if (api) for (const c of [...api.childNodes]) tree.detachNode(c);
  return pass;
}

/**
 * The template's `before` and `after` around Latchkey's form must read back as they were written,
 * with the form unchanged in `#api` and no other form in the page.
 */
function checkAssembled(before: string, after: string): void {
  const page = before + PROBE + after;
  const doc = parse(page);
  keepLeadingNewlines(doc);
  const api = findById(doc, 'api');
  if (!api || serialize(api) !== PROBE || countTag(doc, 'form') !== 1 || serialize(doc) !== page) {
    throw new TemplateError(`Latchkey's form would not stay intact in the template's <div id="api"> (the markup around it changes how the page is read)`);
  }
}

/**
 * Parses `text`, lets `round` change the tree, writes it out, and again, until the text stops changing:
 * then the tree is the one a browser builds from that text. A text still changing after `maxRounds`
 * rounds is refused.
 */
export function untilStable<T>(text: string, round: (doc: Document) => T, maxRounds = MAX_ROUNDS): { doc: Document; result: T; text: string } {
  let current = text;
  for (let i = 0; i < maxRounds; i++) {
    const doc = parse(current);
    const result = round(doc);
    keepLeadingNewlines(doc);
    const written = serialize(doc);
    if (written === current) return { doc, result, text: written };
    current = written;
  }
  throw new TemplateError(`the template reads differently each time it is written out (still changing after ${maxRounds} rounds of sanitizing), so what the browser builds could not be checked`);
}

export function sanitizeTemplate(htmlText: string, o: SanitizeOptions): SanitizedTemplate {
  if (!hasApiElement(htmlText)) throw new TemplateError('the template has no <div id="api"></div> for the form');
  const removed: string[] = [];
  const { doc, result: pass } = untilStable(htmlText, (d) => {
    const p = sanitizeTree(d, o);
    removed.push(...p.removed);
    return p;
  });

  const api = findById(doc, 'api');
  if (!api) throw new TemplateError('the template\'s <div id="api"> is inside content that is removed (svg, math, noscript, form, …)');
  for (let p: ParentNode | null = api.parentNode; p && isElement(p); p = p.parentNode) {
    if (SWALLOWING.has(p.tagName)) throw new TemplateError(`the template's <div id="api"> is inside <${p.tagName}>: the form would be part of it`);
  }
  if (findTag(doc, 'head') === undefined) throw new TemplateError('the template has no <head>');

  // The language is set per page; the content of #api per page type and step.
  for (const [name, value] of Object.entries(o.apiAttributes ?? {})) setAttr(api, name, value);
  const marker = `latchkeyapi${randomBytes(12).toString('hex')}`;
  tree.insertText(api, marker);
  const htmlEl = findTag(doc, 'html');
  const langMarker = `latchkeylang${randomBytes(12).toString('hex')}`;
  if (htmlEl) setAttr(htmlEl, 'lang', langMarker);
  const written = serialize(doc);
  const at = written.indexOf(marker);
  if (at < 0) throw new TemplateError('the template could not be prepared');
  const before = written.slice(0, at);
  const after = written.slice(at + marker.length);
  checkAssembled(before, after);
  if (pass.styleHashes.size > MAX_HASHES) throw new TemplateError(`the template has more than ${MAX_HASHES} distinct inline styles`);
  return {
    before,
    langToken: langMarker,
    after,
    assetOrigins: [...pass.assetOrigins],
    scriptOrigins: o.javaScript ? [...pass.scriptOrigins] : [],
    scriptHashes: o.javaScript ? [...pass.scriptHashes] : [],
    styleHashes: [...pass.styleHashes],
    removed,
  };
}
