import { createHash, randomBytes } from 'node:crypto';
import { defaultTreeAdapter as tree, parse, serialize, type DefaultTreeAdapterMap } from 'parse5';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];
type ParentNode = DefaultTreeAdapterMap['parentNode'];

/**
 * A page layout (B2C's custom page contract) made safe to serve: parsed as a browser parses it
 * (parse5 follows the HTML standard, so what is checked is what the browser will see), stripped of what
 * could take the page over, with relative asset URLs made absolute, and the Content-Security-Policy
 * sources its assets need. Latchkey's form goes where `<div id="api">` was.
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
const DROPPED = new Set(['form', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'portal']);
/** Attributes holding a URL, resolved against the template's address. */
const URL_ATTRS = new Set(['href', 'src', 'poster', 'background']);
/** Attributes that would tie the template's buttons to Latchkey's forms or send a form elsewhere. */
const DROPPED_ATTRS = new Set(['form', 'formaction', 'action']);
const MAX_HASHES = 200;

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
export function hasApiElement(htmlText: string): boolean {
  return findById(parse(htmlText), 'api') !== undefined;
}

export function sanitizeTemplate(htmlText: string, o: SanitizeOptions): SanitizedTemplate {
  const doc = parse(htmlText);
  const api = findById(doc, 'api');
  if (!api) throw new TemplateError('the template has no <div id="api"></div> for the form');
  const head = findTag(doc, 'head');
  const assetOrigins = new Set<string>([new URL(o.baseUrl).origin]);
  const scriptOrigins = new Set<string>();
  const scriptHashes = new Set<string>();
  const styleHashes = new Set<string>();
  const removed: string[] = [];

  const rewriteCssUrls = (css: string): string =>
    css.replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/g, (whole, quote: string, raw: string) => {
      if (raw.trim().startsWith('data:')) return whole;
      const url = resolve(raw, o.baseUrl);
      if (!url) return 'url("")';
      assetOrigins.add(url.origin);
      return `url(${quote}${url.href}${quote})`;
    });

  const visit = (parent: ParentNode, inHead: boolean): void => {
    for (const node of [...parent.childNodes]) {
      if (!isElement(node)) continue;
      const tag = node.tagName;
      if (DROPPED.has(tag)) {
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
      // Event handlers and code in URLs never run (the CSP would stop them; they go anyway).
      node.attrs = node.attrs.filter((a) => {
        const name = a.name.toLowerCase();
        if (name.startsWith('on') || DROPPED_ATTRS.has(name)) {
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
          if (tag === 'script') scriptOrigins.add(url.origin);
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
          styleHashes.add(cspHash(a.value));
        }
      }
      if (tag === 'style') {
        const text = node.childNodes[0];
        if (text && text.nodeName === '#text') {
          const t = text as DefaultTreeAdapterMap['textNode'];
          t.value = rewriteCssUrls(t.value);
        }
        styleHashes.add(cspHash(textOf(node)));
      }
      if (tag === 'script' && attr(node, 'src') === undefined) scriptHashes.add(cspHash(textOf(node)));
      if (node === api) continue; // its content is replaced
      const content = tag === 'template' ? (node as DefaultTreeAdapterMap['template']).content : node;
      visit(content, inHead || tag === 'head');
    }
  };
  visit(doc, false);
  if (head === undefined) throw new TemplateError('the template has no <head>');

  // Latchkey's content replaces whatever the template put in #api; the language is set per page.
  for (const c of [...api.childNodes]) tree.detachNode(c);
  for (const [name, value] of Object.entries(o.apiAttributes ?? {})) setAttr(api, name, value);
  const marker = `latchkeyapi${randomBytes(12).toString('hex')}`;
  tree.insertText(api, marker);
  const htmlEl = findTag(doc, 'html');
  const langMarker = `latchkeylang${randomBytes(12).toString('hex')}`;
  if (htmlEl) setAttr(htmlEl, 'lang', langMarker);
  const text = serialize(doc);
  const at = text.indexOf(marker);
  if (at < 0) throw new TemplateError('the template could not be prepared');
  if (styleHashes.size > MAX_HASHES) throw new TemplateError(`the template has more than ${MAX_HASHES} distinct inline styles`);
  return {
    before: text.slice(0, at),
    langToken: langMarker,
    after: text.slice(at + marker.length),
    assetOrigins: [...assetOrigins],
    scriptOrigins: o.javaScript ? [...scriptOrigins] : [],
    scriptHashes: o.javaScript ? [...scriptHashes] : [],
    styleHashes: [...styleHashes],
    removed,
  };
}
