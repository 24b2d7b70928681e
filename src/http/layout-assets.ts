import { readFile, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import { OAuthError } from '../model/errors.js';
import { LAYOUT_ASSETS_PATH } from '../ui/layouts/page-layouts.js';

/** What a file template may load from beside it; never policy JSON or identity-providers.json. */
const ASSET_TYPES: Record<string, string> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
};
const MAX_BYTES = 5 * 1024 * 1024;

/**
 * The assets of page layouts given as files (`policies/{tenant}/layouts/…`): their stylesheets,
 * images and fonts, by relative URL. Only those file types, only inside the tenant's folder, and
 * sandboxed (an SVG opened on its own cannot run script on Latchkey's origin).
 */
export function registerLayoutAssetRoutes(app: FastifyInstance, deps: Deps): void {
  app.get(`${LAYOUT_ASSETS_PATH}/:tenant/*`, { config: { errorFormat: 'html' } }, async (req, reply) => {
    const { tenant, '*': rest } = req.params as { tenant: string; '*': string };
    const segments = rest.split('/');
    const ext = rest.split('.').pop()?.toLowerCase() ?? '';
    const type = ASSET_TYPES[ext];
    const ok = /^[a-z0-9][a-z0-9-]{1,62}$/.test(tenant) && type !== undefined && segments.every((s) => s !== '' && s !== '..' && !s.startsWith('.') && !s.includes('\\'));
    const folder = join(deps.config.policiesDir, tenant);
    const file = join(folder, ...segments);
    const notFound = new OAuthError('not_found', 'No such file.', { redirectable: false });
    if (!ok || !file.startsWith(folder + sep)) throw notFound;
    // On a tenant's own host, that tenant's files alone.
    if (req.site.tenantId !== undefined && (await deps.tenants.find(req.site.tenantId))?.slug !== tenant) throw notFound;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || info.size > MAX_BYTES) throw notFound;
    return reply
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
      .type(type)
      .send(await readFile(file));
  });
}
