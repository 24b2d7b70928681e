import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../model/clock.js';
import type { Policy } from '../../model/policy.js';
import { isOwnHostOf, type Site } from '../../model/site.js';
import { OutboundError, type OutboundClient, type OutboundResponse } from '../../outbound/outbound-client.js';
import { type ApiPage } from '../pages/api-page.js';
import { API_DATA_NAME } from '../../model/page-layout.js';
import { defaultDocument } from '../pages/layout.js';
import { checkTemplateLocation, templateLocation, type TemplateLocation } from '../../model/page-layout.js';
import { sanitizeTemplate, TemplateError, type SanitizedTemplate } from './sanitize.js';

/** The sources a templated page's Content-Security-Policy must allow, beyond Latchkey's own. */
export interface PageCsp {
  assetOrigins: string[];
  scriptOrigins: string[];
  scriptHashes: string[];
  styleHashes: string[];
}

export interface RenderedPage {
  html: string;
  csp?: PageCsp;
}

export interface PageLayoutOptions {
  policiesDir: string;
  /** LATCHKEY_BASE_URL: where `latchkey policy validate` resolves a file template's assets. */
  baseUrl: string;
  logger: Logger;
  clock: Clock;
  /** Fetches templates (redirects checked hop by hop, private addresses refused). */
  outbound: OutboundClient;
  /** How long a fetched template is used before it is fetched again. */
  ttlMs?: number;
  /** How long a template that could not be had is not asked for again (pages use the default meanwhile). */
  failureTtlMs?: number;
  maxEntries?: number;
  timeoutMs?: number;
  maxBytes?: number;
}

type Entry = { expiresAt: number; template?: SanitizedTemplate; error?: string; pending?: Promise<void> };

/** The path under which files next to a tenant's file templates are served (its CSS, images, fonts). */
export const LAYOUT_ASSETS_PATH = '/static/layouts';

/**
 * Custom page layouts (B2C's contract): the template of a policy's page type, fetched server-side
 * (customers' CORS rules do not matter), sanitized, cached with a bounded size and lifetime and fetched
 * again on expiry, with Latchkey's form in its `<div id="api">`. A template that cannot be had is
 * logged and the page is sent in the default layout: nobody is kept from signing in by a CDN.
 */
export class PageLayouts {
  private readonly cache = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(private readonly o: PageLayoutOptions) {
    this.ttlMs = o.ttlMs ?? 5 * 60_000;
    this.failureTtlMs = o.failureTtlMs ?? 30_000;
    this.maxEntries = o.maxEntries ?? 200;
    this.timeoutMs = o.timeoutMs ?? 5_000;
    this.maxBytes = o.maxBytes ?? 1024 * 1024;
  }

  /**
   * The page in its policy's layout. `site` is where the browser is: a file template's assets are served
   * from that host, and the template's scripts (`javaScript: true`) run only on a host of the tenant's
   * own; on the shared host, where every tenant's pages share one origin, they are dropped.
   */
  async render(p: { tenantSlug: string; tenantId: string; policy: Policy | undefined; page: ApiPage; locale: string; site: Site }): Promise<RenderedPage> {
    const theme = p.policy?.ui.theme;
    const layout = p.policy?.ui.pageLayouts?.[p.page.pageType];
    if (!layout) return { html: defaultDocument(p.page, { lang: p.locale, theme }) };
    const location = templateLocation(layout.template, p.locale);
    const javaScript = layout.javaScript && isOwnHostOf(p.site, p.tenantId);
    const template = await this.get(p.tenantSlug, location, javaScript, p.page.pageType, p.site.baseUrl);
    if (!template) return { html: defaultDocument(p.page, { lang: p.locale, theme }) };
    return {
      html: template.before.replace(template.langToken, p.locale) + p.page.content.value + template.after,
      csp: { assetOrigins: template.assetOrigins, scriptOrigins: template.scriptOrigins, scriptHashes: template.scriptHashes, styleHashes: template.styleHashes },
    };
  }

  /**
   * Fetches and checks a template now, bypassing the cache (`latchkey policy validate`): undefined when
   * it is usable, else why not.
   */
  async check(tenantSlug: string, template: string, javaScript: boolean, locale: string): Promise<string | undefined> {
    const problem = checkTemplateLocation(template);
    if (problem) return problem;
    try {
      const location = templateLocation(template, locale);
      const { text, baseUrl } = await this.load(tenantSlug, location, this.o.baseUrl);
      sanitizeTemplate(text, { baseUrl, javaScript });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async get(tenantSlug: string, location: TemplateLocation, javaScript: boolean, pageType: ApiPage['pageType'], siteUrl: string): Promise<SanitizedTemplate | undefined> {
    const where = location.kind === 'url' ? location.url : `${tenantSlug}/${location.path}`;
    // A file template's asset URLs are written with the host the page is served on.
    const key = `${pageType} ${javaScript ? 'js' : 'nojs'} ${location.kind} ${where}${location.kind === 'file' ? ` ${siteUrl}` : ''}`;
    let entry = this.cache.get(key);
    if (entry && entry.expiresAt <= this.o.clock.now() && !entry.pending) entry = undefined;
    if (!entry) {
      const fresh: Entry = { expiresAt: Number.POSITIVE_INFINITY };
      fresh.pending = this.fill(fresh, tenantSlug, location, javaScript, pageType, where, siteUrl);
      this.remember(key, fresh);
      entry = fresh;
    }
    if (entry.pending) await entry.pending;
    return entry.template;
  }

  private async fill(entry: Entry, tenantSlug: string, location: TemplateLocation, javaScript: boolean, pageType: ApiPage['pageType'], where: string, siteUrl: string): Promise<void> {
    try {
      const { text, baseUrl } = await this.load(tenantSlug, location, siteUrl);
      entry.template = sanitizeTemplate(text, { baseUrl, javaScript, apiAttributes: { 'data-name': API_DATA_NAME[pageType] } });
      if (entry.template.removed.length > 0) this.o.logger.info({ template: where, removed: [...new Set(entry.template.removed)] }, 'page layout: elements removed');
      entry.expiresAt = this.o.clock.now() + this.ttlMs;
    } catch (err) {
      entry.error = err instanceof Error ? err.message : String(err);
      entry.expiresAt = this.o.clock.now() + this.failureTtlMs;
      this.o.logger.warn({ template: where, reason: entry.error }, 'page layout unavailable: pages use the default layout');
    } finally {
      delete entry.pending;
    }
  }

  /** A bounded cache: the oldest entry goes when it is full (a Map keeps insertion order). */
  private remember(key: string, entry: Entry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  private async load(tenantSlug: string, location: TemplateLocation, siteUrl: string): Promise<{ text: string; baseUrl: string }> {
    if (location.kind === 'file') {
      const problem = checkTemplateLocation(location.path);
      if (problem) throw new TemplateError(`${location.path} ${problem}`);
      const text = await readFile(join(this.o.policiesDir, tenantSlug, location.path), 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new TemplateError(`cannot read ${location.path} (${err.code ?? 'error'})`);
      });
      if (Buffer.byteLength(text) > this.maxBytes) throw new TemplateError(`${location.path} is larger than ${this.maxBytes} bytes`);
      return { text, baseUrl: `${siteUrl}${LAYOUT_ASSETS_PATH}/${tenantSlug}/${location.path}` };
    }
    return this.fetchTemplate(location.url);
  }

  private async fetchTemplate(url: string): Promise<{ text: string; baseUrl: string }> {
    let res: OutboundResponse;
    try {
      res = await this.o.outbound.request(url, { purpose: 'page layout', headers: { accept: 'text/html' }, timeoutMs: this.timeoutMs, maxBytes: this.maxBytes, redirect: 'follow' });
    } catch (err) {
      if (!(err instanceof OutboundError)) throw err;
      if (err.kind === 'timeout') throw new TemplateError(`no answer from ${url} within ${this.timeoutMs / 1000} s`);
      if (err.kind === 'too_large') throw new TemplateError(`${url} is larger than ${this.maxBytes} bytes`);
      // Refused by the address policy, or unreachable: the page falls back alike; the operator's
      // messages (log, `policy validate`) say which.
      const why = err.refusal ? ` (refused: ${err.refusal.host}${err.refusal.address && err.refusal.address !== err.refusal.host ? ` at ${err.refusal.address}` : ''} is ${err.refusal.reason}; see LATCHKEY_OUTBOUND_ALLOW)` : '';
      throw new TemplateError(`cannot fetch ${url}${why}`);
    }
    // Each hop was checked by the outbound client; the final URL must still be one a template could name.
    if (checkTemplateLocation(res.url)) throw new TemplateError(`${url} redirected to ${res.url}, which is not https`);
    if (res.status !== 200) throw new TemplateError(`${url} answered ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    if (!/html/i.test(type)) throw new TemplateError(`${url} is not HTML (content-type ${type || 'missing'})`);
    return { text: res.body.toString('utf8'), baseUrl: res.url };
  }
}
