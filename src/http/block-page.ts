import type { FastifyReply } from 'fastify';
import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import { isLocale, messagesFor } from '../model/messages/messages.js';
import { blockPage } from '../ui/pages/messages.js';
import { sendPage } from './respond.js';

/** An API connector's ShowBlockPage, in the policy's layout and the page's language. */
export async function sendBlockPage(deps: Deps, reply: FastifyReply, tenant: Tenant, policy: Policy, message: string, locale: string): Promise<FastifyReply> {
  const messages = messagesFor(isLocale(locale) ? locale : 'en', policy.ui.strings);
  const page = blockPage(message, policy.ui.title ?? tenant.displayName, messages);
  const rendered = await deps.layouts.render({ tenantSlug: tenant.slug, tenantId: tenant.id, policy, page, locale: messages.locale, site: reply.request.site });
  return sendPage(reply, rendered.html, { csp: rendered.csp });
}
