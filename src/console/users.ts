import { DIRECTORY_ROLE_TEMPLATES, directoryRoles, type User } from '../model/entities.js';
import { invalid } from '../model/errors.js';
import { graphIdentities } from '../model/graph-user.js';
import { hasLocalAccount } from '../model/local-identities.js';
import { GUID } from '../model/patterns.js';
import { MfaService } from '../services/mfa.js';
import { createLocalUser, deleteUser, linkIdentity, requireUser, revokeSessions, setEnabled, unlinkIdentity } from '../services/users.js';
import { setPassword, updateProfile } from '../services/users-update.js';
import { addDirectoryRole, parseDirectoryRole, removeDirectoryRole } from '../services/users-roles.js';
import { html } from '../ui/html.js';
import { actionButton, canWrite, field, form, table, when } from './pages/layout.js';
import type { ConsoleRouter, Ctx, Redisplay } from './routes.js';
import { ROLE_NAMES } from './roles.js';

/**
 * Users: find them by part of a name, an address or an identity, page through them, create one, and on
 * a user's page change the profile and attributes, disable or enable, set a password, reset second
 * factors, end sessions, link and unlink identities, give and take directory roles, delete — each
 * through services/users*.ts and mfa.ts, as the CLI and the APIs do. The page also shows the user's factors and recent sign-ins.
 */
const PAGE = 25;
const SIGN_IN_EVENTS = new Set(['signin', 'federated_signin', 'passkey_signin']);

const nameOf = (u: User) => u.displayName ?? ([u.givenName, u.familyName].filter(Boolean).join(' ') || u.email || u.localIdentities[0]?.issuerAssignedId || u.id);

async function userOf(c: Ctx): Promise<User> {
  const id = (c.req.params as { id: string }).id.toLowerCase();
  if (!GUID.test(id)) return requireUser(c.deps, c.tenant, '(not an object id)');
  return requireUser(c.deps, c.tenant, id);
}

/** Attributes as the form shows them: `name = value`, one a line. */
function attributeLines(u: User): string {
  return Object.entries(u.attributes).map(([k, v]) => `${k} = ${String(v)}`).join('\n');
}

/** The form's attribute lines as a change: new and changed values (a value keeps its kind: number, true/false, text), and null for those left out. */
function attributeChange(u: User, text: string): Record<string, unknown> {
  const given = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw invalid(`attributes, line ${i + 1}: write each as name = value`);
    given.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const change: Record<string, unknown> = {};
  for (const name of Object.keys(u.attributes)) if (!given.has(name)) change[name] = null;
  for (const [name, value] of given) {
    const old = u.attributes[name];
    const typed = typeof old === 'number' && value !== '' && Number.isFinite(Number(value)) ? Number(value) : typeof old === 'boolean' && (value === 'true' || value === 'false') ? value === 'true' : value;
    if (typed !== old) change[name] = typed;
  }
  return change;
}

export function registerUsers(r: ConsoleRouter): void {
  const list = async (c: Ctx, o: Redisplay) => {
    const q = (c.query.q ?? '').trim().slice(0, 200);
    const after = c.query.after && GUID.test(c.query.after) ? c.query.after : undefined;
    const found = await c.deps.store.queryUsers(c.tenant.id, { limit: PAGE + 1, ...(q ? { contains: q } : {}), ...(after ? { afterId: after } : {}) });
    // An object id finds its user too.
    const exact = q && GUID.test(q) && !after ? await c.deps.store.findUser(c.tenant.id, q.toLowerCase()) : undefined;
    const users = exact && !found.some((u) => u.id === exact.id) ? [exact, ...found] : found;
    const page = users.slice(0, PAGE);
    const next = users.length > PAGE ? `${c.shell.base}/users?${new URLSearchParams({ ...(q ? { q } : {}), after: page.at(-1)!.id })}` : undefined;
    const rows = page.map((u) => html`<tr><td><a href="${c.shell.base}/users/${u.id}">${nameOf(u)}</a></td><td>${u.email ?? ''}</td><td>${u.disabled ? html`<span class="bad">disabled</span>` : 'enabled'}</td><td>${when(u.createdAt)}</td></tr>`);
    return {
      title: 'Users',
      section: 'users' as const,
      error: o.error,
      body: html`<form method="get" action="${c.shell.base}/users" role="search" class="search">
${field('Search by name, email or identity', 'q', { value: q, type: 'search', hint: 'Part of a name, an email address or an identity provider\'s user id; or an object id.' })}
<div class="buttons"><button type="submit">Search</button></div></form>
${canWrite(c.shell) ? html`<p><a class="button" href="${c.shell.base}/users/new">New user</a></p>` : ''}
${table(q ? `Users matching “${q}”` : 'Users', ['Name', 'Email', 'Status', 'Created'], rows, q ? 'No user matches.' : 'No users yet.')}
${next ? html`<p><a href="${next}" rel="next">Next page</a></p>` : ''}${after ? html` <p><a href="${c.shell.base}/users${q ? `?q=${encodeURIComponent(q)}` : ''}">First page</a></p>` : ''}`,
    };
  };
  r.page('/users', list);

  const newUser = async (c: Ctx, o: Redisplay) => {
    const v = o.values ?? {};
    return {
      title: 'New user',
      section: 'users' as const,
      error: o.error,
      body: canWrite(c.shell)
        ? form(c.shell, '/users', 'Create user', [
            field('Email address', 'email', { type: 'email', value: v.email, required: true, autocomplete: 'off' }),
            field('Password', 'password', { type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters. The user can change it with the password reset policy.' }),
            field('Given name', 'givenName', { value: v.givenName }),
            field('Surname', 'familyName', { value: v.familyName }),
            field('Display name', 'displayName', { value: v.displayName, hint: 'Default: the given name and surname.' }),
          ])
        : html`<p>Creating users needs the Global Administrator role.</p>`,
    };
  };
  r.page('/users/new', newUser);
  r.action('/users', async (c, f) => {
    const created = await createLocalUser(c.d, c.tenant, {
      email: f.email ?? '',
      password: f.password ?? '',
      ...(f.givenName ? { givenName: f.givenName } : {}),
      ...(f.familyName ? { familyName: f.familyName } : {}),
      ...(f.displayName ? { displayName: f.displayName } : {}),
    }, c.origin);
    return { redirect: `/users/${created.id}`, done: 'user-created' };
  }, newUser);

  const show = async (c: Ctx, o: Redisplay) => {
    const u = await userOf(c);
    const v = o.values ?? {};
    const { tenant, shell } = c;
    const identities = graphIdentities(tenant, u, await c.deps.store.listUserIdentities(tenant.id, u.id));
    const mfa = new MfaService(c.acting);
    const factors = await mfa.authenticators(tenant, u.id);
    const locked = await mfa.locked(tenant, u.id);
    const roles = await c.directoryRoles(tenant.id, u.id);
    const signIns = (await c.deps.store.listAuditEvents({ tenantId: tenant.id, user: u.id, limit: 200 })).filter((e) => SIGN_IN_EVENTS.has(e.event)).slice(0, 10);
    const w = canWrite(shell);
    const base = `/users/${u.id}`;
    const profile = w
      ? form(shell, `${base}/profile`, 'Save profile', [
          field('Given name', 'givenName', { value: v.givenName ?? u.givenName }),
          field('Surname', 'familyName', { value: v.familyName ?? u.familyName }),
          field('Display name', 'displayName', { value: v.displayName ?? u.displayName }),
          field('Attributes', 'attributes', { type: 'textarea', value: v.attributes ?? attributeLines(u), hint: 'One a line: name = value (custom attributes reach tokens as extension_name). Remove a line to remove the attribute.' }),
        ], { label: 'Profile' })
      : html`<dl><dt>Given name</dt><dd>${u.givenName ?? '—'}</dd><dt>Surname</dt><dd>${u.familyName ?? '—'}</dd><dt>Display name</dt><dd>${u.displayName ?? '—'}</dd><dt>Attributes</dt><dd><pre>${attributeLines(u) || '—'}</pre></dd></dl>`;
    return {
      title: nameOf(u),
      section: 'users' as const,
      error: o.error,
      body: html`<dl class="facts"><dt>Object id</dt><dd><code>${u.id}</code></dd><dt>Email</dt><dd>${u.email ?? '—'} ${u.email ? (u.emailVerified ? '(verified)' : '(not verified)') : ''}</dd>
<dt>Sign-in names</dt><dd>${u.localIdentities.length > 0 ? u.localIdentities.map((l) => l.issuerAssignedId).join(', ') : '— (signs in through identity providers only)'}</dd>
<dt>Status</dt><dd>${u.disabled ? html`<strong class="bad">Disabled</strong>: cannot sign in` : 'Enabled'}</dd><dt>Directory roles</dt><dd>${roles.length > 0 ? roles.map((r) => ROLE_NAMES[r]).join(', ') : 'none'}</dd><dt>Created</dt><dd>${when(u.createdAt)}</dd><dt>Changed</dt><dd>${when(u.updatedAt)}</dd></dl>
${w ? html`<div class="actions" role="group" aria-label="Account actions">
${u.id === c.admin.id ? '' : u.disabled ? actionButton(shell, `${base}/enable`, 'Enable') : actionButton(shell, `${base}/disable`, 'Disable', { confirm: 'Disable this user? Their sessions end and they cannot sign in.' })}
${actionButton(shell, `${base}/revoke-sessions`, 'Revoke sessions', { confirm: "End this user's sessions and revoke their refresh tokens?" })}
${actionButton(shell, `${base}/reset-mfa`, 'Reset MFA', { confirm: "Remove this user's second factors and passkeys?" })}
${u.id === c.admin.id ? '' : actionButton(shell, `${base}/delete`, 'Delete user', { confirm: 'Delete this user and everything of theirs? This cannot be undone.', danger: true })}
</div>` : ''}
<section aria-labelledby="h-roles"><h2 id="h-roles">Directory roles</h2>
<p>Global Administrators change everything in this tenant (the console, consent for the organization); Global Readers see it. Tokens carry the roles as <code>wids</code>.</p>
${table('Directory roles', ['Role', 'Template id (in wids)', ...(w ? [''] : [])], roles.map((r) => html`<tr><td>${ROLE_NAMES[r]}</td><td><code>${DIRECTORY_ROLE_TEMPLATES[r]}</code></td>${w ? html`<td>${r === 'GlobalAdministrator' && u.id === c.admin.id ? html`<span class="muted">your own: another Global Administrator can take it away</span>` : actionButton(shell, `${base}/roles/remove`, 'Take away', { fields: { role: r }, confirm: `Take the ${ROLE_NAMES[r]} role away from ${nameOf(u)}?` })}</td>` : ''}</tr>`), 'No directory role: a user of the tenant.')}
${w && roles.length < directoryRoles.length ? form(shell, `${base}/roles`, 'Give role', field('Directory role', 'role', { options: directoryRoles.filter((r) => !roles.includes(r)).map((r) => [r, ROLE_NAMES[r]]), value: v.role }), { label: 'Give a directory role' }) : ''}</section>
<section aria-labelledby="h-profile"><h2 id="h-profile">Profile</h2>${profile}</section>
${w && hasLocalAccount(u) ? html`<section aria-labelledby="h-password"><h2 id="h-password">Password</h2>${form(shell, `${base}/password`, 'Set password', field('New password', 'password', { type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters. Sessions stay; revoke them too if the old password leaked.' }), { label: 'Password' })}</section>` : ''}
<section aria-labelledby="h-identities"><h2 id="h-identities">Identities</h2>
${table('Identities', ['Sign-in type', 'Issuer', 'Id at the issuer', ...(w ? [''] : [])], identities.map((i) => html`<tr><td>${i.signInType}</td><td>${i.issuer}</td><td><code>${i.issuerAssignedId}</code></td>${w ? html`<td>${i.signInType === 'federated' ? actionButton(shell, `${base}/identities/remove`, 'Unlink', { fields: { issuer: i.issuer, issuerAssignedId: i.issuerAssignedId }, confirm: 'Unlink this identity?' }) : ''}</td>` : ''}</tr>`))}
${w ? form(shell, `${base}/identities`, 'Link identity', [field('Issuer', 'issuer', { value: v.issuer, required: true, hint: "The identity provider's domain, such as google.com" }), field('Id at the issuer', 'issuerAssignedId', { value: v.issuerAssignedId, required: true, hint: 'The user\'s subject (sub) there' })], { label: 'Link an identity' }) : ''}
</section>
<section aria-labelledby="h-factors"><h2 id="h-factors">Second factors and passkeys</h2>
${locked ? html`<p class="bad">The second factor is locked after too many wrong codes.</p>` : ''}
${table('Second factors and passkeys', ['Kind', 'Label', 'Enrolled', 'Last used'], factors.map((a) => html`<tr><td>${a.kind}</td><td>${a.kind === 'recovery' ? `${MfaService.recoveryCodesLeft([a])} codes left` : (a.label ?? '')}</td><td>${when(a.createdAt)}</td><td>${when(a.lastUsedAt)}</td></tr>`), 'No second factor or passkey.')}
</section>
<section aria-labelledby="h-signins"><h2 id="h-signins">Recent sign-ins</h2>
${table('Recent sign-ins', ['Time', 'Method', 'Result', 'App', 'Address', 'Detail'], signIns.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.event === 'signin' ? 'password' : e.event === 'federated_signin' ? 'identity provider' : 'passkey'}</td><td class="${e.outcome === 'failure' ? 'bad' : ''}">${e.outcome}</td><td><code>${e.clientId ?? ''}</code></td><td>${e.ip ?? ''}</td><td>${e.detail ?? ''}</td></tr>`), 'No sign-in recorded.')}
<p><a href="${shell.base}/audit?user=${u.id}">All audit events about or by this user</a></p>
</section>`,
    };
  };
  r.page('/users/:id', show);

  r.action('/users/:id/profile', async (c, f) => {
    const u = await userOf(c);
    const text = (s: string | undefined) => (s === undefined ? undefined : s.trim() === '' ? null : s.trim());
    await updateProfile(c.d, c.tenant, u, {
      givenName: text(f.givenName) ?? null,
      familyName: text(f.familyName) ?? null,
      displayName: text(f.displayName) ?? null,
      attributes: attributeChange(u, f.attributes ?? ''),
    }, c.origin);
    return { redirect: `/users/${u.id}`, done: 'user-updated' };
  }, show);
  /** Disabling or deleting oneself would end one's own access mid-change: another administrator does it. */
  const notSelf = (c: Ctx, u: User, what: string) => {
    if (u.id === c.admin.id) throw invalid(`you cannot ${what} your own account here: another Global Administrator can (or the operator, with the CLI)`);
    return u;
  };
  r.action('/users/:id/disable', async (c) => {
    const u = await setEnabled(c.d, c.tenant, notSelf(c, await userOf(c), 'disable'), false, c.origin);
    return { redirect: `/users/${u.id}`, done: 'user-disabled' };
  }, show);
  r.action('/users/:id/enable', async (c) => {
    const u = await setEnabled(c.d, c.tenant, await userOf(c), true, c.origin);
    return { redirect: `/users/${u.id}`, done: 'user-enabled' };
  }, show);
  r.action('/users/:id/delete', async (c) => {
    await deleteUser(c.d, c.tenant, notSelf(c, await userOf(c), 'delete'), c.origin);
    return { redirect: '/users', done: 'user-deleted' };
  }, show);
  r.action('/users/:id/password', async (c, f) => {
    const u = await userOf(c);
    await setPassword(c.d, c.tenant, u, f.password ?? '', c.origin);
    return { redirect: `/users/${u.id}`, done: 'password-set' };
  }, show);
  r.action('/users/:id/reset-mfa', async (c) => {
    const u = await userOf(c);
    await new MfaService(c.acting).reset(c.tenant, u, 'console');
    return { redirect: `/users/${u.id}`, done: 'mfa-reset' };
  }, show);
  r.action('/users/:id/revoke-sessions', async (c) => {
    const u = await userOf(c);
    await revokeSessions(c.d, c.tenant, u, c.origin);
    return { redirect: `/users/${u.id}`, done: 'sessions-revoked' };
  }, show);
  r.action('/users/:id/roles', async (c, f) => {
    const u = await userOf(c);
    await addDirectoryRole(c.d, c.tenant, u, parseDirectoryRole(f.role ?? ''), c.origin);
    return { redirect: `/users/${u.id}`, done: 'directory-role-given' };
  }, show);
  r.action('/users/:id/roles/remove', async (c, f) => {
    const u = await userOf(c);
    const role = parseDirectoryRole(f.role ?? '');
    // Nobody locks the tenant out of its console by taking their own role: another Global Administrator
    // (or the operator, with the CLI) takes it, so whoever takes it away still holds one. Without a store
    // query for a tenant's administrators this is stricter than "not the last one", and simple.
    if (role === 'GlobalAdministrator' && u.id === c.admin.id) throw invalid('you cannot take away your own Global Administrator role: another Global Administrator can (or the operator, with latchkey user role remove), so you cannot lock the tenant out of its console this way');
    await removeDirectoryRole(c.d, c.tenant, u, role, c.origin);
    return { redirect: `/users/${u.id}`, done: 'directory-role-taken' };
  }, show);
  r.action('/users/:id/identities', async (c, f) => {
    const u = await userOf(c);
    await linkIdentity(c.d, c.tenant, u, { issuer: f.issuer ?? '', issuerAssignedId: f.issuerAssignedId ?? '' }, c.origin);
    return { redirect: `/users/${u.id}`, done: 'identity-added' };
  }, show);
  r.action('/users/:id/identities/remove', async (c, f) => {
    const u = await userOf(c);
    await unlinkIdentity(c.d, c.tenant, u, { issuer: f.issuer ?? '', issuerAssignedId: f.issuerAssignedId ?? '' }, c.origin);
    return { redirect: `/users/${u.id}`, done: 'identity-removed' };
  }, show);
}

