import type { AuditEvent, User } from '../model/entities.js';
import { GUID } from '../model/patterns.js';
import { html, type SafeHtml } from '../ui/html.js';
import { field, table, when } from './pages/layout.js';
import type { ConsoleRouter, Ctx } from './routes.js';

/**
 * The audit log: events newest first, filtered by event, outcome, user (events about them or made by
 * them) and time, a page at a time. Changes made in the console name their administrator ("By").
 */
const PAGE = 50;
/** `datetime-local` values are read as UTC, as the page says. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function registerAudit(r: ConsoleRouter): void {
  r.page('/audit', async (c) => {
    const q = c.query;
    const event = /^[a-z_]{1,40}$/.test(q.event ?? '') ? q.event : undefined;
    const outcome = q.outcome === 'success' || q.outcome === 'failure' ? q.outcome : undefined;
    const userText = (q.user ?? '').trim().slice(0, 256);
    const since = TIME.test(q.since ?? '') ? Date.parse(`${q.since}Z`) : undefined;
    const until = TIME.test(q.until ?? '') ? Date.parse(`${q.until}Z`) : undefined;
    const before = /^\d{1,15}$/.test(q.before ?? '') ? Number(q.before) : undefined;
    // A user is named by object id or sign-in name; one that is no user (any more) is taken as an id.
    let userId: string | undefined;
    let problem: string | undefined;
    if (userText) {
      const found = GUID.test(userText) ? undefined : await c.deps.store.findUserBySignInName(c.tenant.id, userText);
      // Failed sign-ins of unknown names are recorded under the name typed.
      userId = found?.id ?? (GUID.test(userText) ? userText.toLowerCase() : userText);
      if (!found && !GUID.test(userText)) problem = 'No user signs in with that name: showing the events recorded under it (failed sign-ins of unknown names).';
    }
    const events = await c.deps.store.listAuditEvents({
      tenantId: c.tenant.id,
      limit: PAGE + 1,
      ...(event ? { event } : {}),
      ...(outcome ? { outcome } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(before !== undefined ? { beforeId: before } : {}),
      ...(userId ? { user: userId } : {}),
    });
    const page = events.slice(0, PAGE);
    const people = await namesOf(c, page);
    const apps = new Map<string, string>();
    for (const id of new Set(page.map((e) => e.clientId).filter((id): id is string => id !== null))) {
      const app = GUID.test(id) ? await c.deps.store.findApp(c.tenant.id, id) : undefined;
      apps.set(id, app?.name ?? id);
    }
    const filters = Object.fromEntries(Object.entries({ event, outcome, user: userText, since: q.since, until: q.until }).filter(([, v]) => v)) as Record<string, string>;
    const older = events.length > PAGE ? `${c.shell.base}/audit?${new URLSearchParams({ ...filters, before: String(page.at(-1)!.id) })}` : undefined;
    const person = (id: string | null): SafeHtml | string => {
      if (!id) return '';
      const u = people.get(id);
      return u ? html`<a href="${c.shell.base}/users/${u.id}">${u.email ?? u.displayName ?? u.id}</a>` : html`<code>${id}</code>`;
    };
    return {
      title: 'Audit log',
      section: 'audit',
      ...(problem ? { notice: problem } : {}),
      body: html`<form method="get" action="${c.shell.base}/audit" class="filters" aria-label="Filter the audit log">
${field('Event', 'event', { value: event, hint: 'Such as signin, user_disabled, app_created.' })}
${field('Outcome', 'outcome', { value: outcome ?? '', options: [['', 'any'], ['success', 'success'], ['failure', 'failure']] })}
${field('User', 'user', { value: userText, hint: 'Email or object id: events about or by them.' })}
${field('From (UTC)', 'since', { type: 'datetime-local', value: since !== undefined ? q.since : '' })}
${field('Until (UTC)', 'until', { type: 'datetime-local', value: until !== undefined ? q.until : '' })}
<div class="buttons"><button type="submit">Filter</button> <a href="${c.shell.base}/audit">Clear</a></div></form>
${table('Audit events', ['Time', 'Event', 'Outcome', 'About', 'By', 'Detail', 'App', 'Address'], page.map((e) => html`<tr><td class="nowrap">${when(e.at)}</td><td>${e.event}</td><td class="${e.outcome === 'failure' ? 'bad' : ''}">${e.outcome}</td><td>${person(e.subject)}</td><td>${person(e.actor)}</td><td>${e.detail ?? ''}</td><td>${e.clientId ? html`<span title="${e.clientId}">${apps.get(e.clientId)}</span>` : ''}</td><td>${e.ip ?? ''}</td></tr>`), 'No event matches.')}
${older ? html`<p><a href="${older}" rel="next">Older events</a></p>` : ''}${before !== undefined ? html`<p><a href="${c.shell.base}/audit?${new URLSearchParams(filters).toString()}">Newest events</a></p>` : ''}`,
    };
  });
}

/** The users an event page names (subjects and actors), to show them by address. */
async function namesOf(c: Ctx, events: AuditEvent[]): Promise<Map<string, User>> {
  const ids = new Set(events.flatMap((e) => [e.subject, e.actor]).filter((id): id is string => id !== null && GUID.test(id)));
  const out = new Map<string, User>();
  for (const id of ids) {
    const u = await c.deps.store.findUser(c.tenant.id, id);
    if (u) out.set(id, u);
  }
  return out;
}
