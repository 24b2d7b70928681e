import { Client, GraphError as GraphClientError } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireApp } from '../../src/services/apps.js';
import { createTenant, setTenantSettings } from '../../src/services/tenants.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';

/**
 * The Graph-compatible users API driven by Microsoft's own Graph client (@microsoft/microsoft-graph-client),
 * pointed at Latchkey over HTTPS with a token from the client credentials grant, as a B2C back office
 * would be with only its base URL and token source changed.
 */
let s: TestServer;
let EXT = '';
let writer: Client;
let reader: Client;
let writerToken = '';
let otherTenantToken = '';

async function daemon(tenantSlug: string, role: string): Promise<{ clientId: string; secret: string }> {
  const tenant = (await s.deps.store.findTenant(tenantSlug))!;
  const { app, clientSecret } = await import('../../src/services/apps.js').then((p) => p.createApp(s.provision, tenant, { name: `daemon-${role}`, type: 'daemon' }));
  const api = await requireApp(s.provision, tenant, ADMIN_API_URI);
  await s.deps.store.addGrant({ clientId: app.clientId, apiClientId: api.clientId, kind: 'role', name: role });
  return { clientId: app.clientId, secret: clientSecret! };
}

async function tokenFor(tenantSlug: string, d: { clientId: string; secret: string }): Promise<string> {
  const res = await fetch(`${s.baseUrl}/${tenantSlug}/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${d.clientId}:${d.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

function graph(token: string, tenant = 'demo'): Client {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: `${s.baseUrl}/${tenant}/graph/`,
    defaultVersion: 'v1.0',
    // The client sends its token only to Microsoft's hosts and the ones named here.
    customHosts: new Set(['localhost']),
  });
}

async function graphError(p: Promise<unknown>): Promise<GraphClientError> {
  try {
    await p;
  } catch (err) {
    return err as GraphClientError;
  }
  throw new Error('the call did not fail');
}

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  EXT = s.tenant.id.replace(/-/g, '');
  writerToken = await tokenFor('demo', await daemon('demo', 'User.ReadWrite.All'));
  writer = graph(writerToken);
  reader = graph(await tokenFor('demo', await daemon('demo', 'User.Read.All')));
  await createTenant(s.provision, 'other');
  otherTenantToken = await tokenFor('other', await daemon('other', 'User.ReadWrite.All'));
});

afterAll(async () => {
  await s?.close();
});

describe('Graph users API', () => {
  let id = '';

  it('creates a user with identities, a password and extension attributes, and reads it back with $select', async () => {
    const created = (await writer.api('/users').post({
      accountEnabled: true,
      displayName: 'Jane Smith',
      givenName: 'Jane',
      surname: 'Smith',
      identities: [
        { signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'jane.smith@example.com' },
        { signInType: 'federated', issuer: 'google.com', issuerAssignedId: '1045-google-sub' },
      ],
      passwordProfile: { password: 'Graph-Passw0rd', forceChangePasswordNextSignIn: false },
      passwordPolicies: 'DisablePasswordExpiration',
      [`extension_${EXT}_loyaltyId`]: 'L-1001',
      country: 'NL',
    })) as { id: string; identities: unknown[] };
    id = created.id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const read = (await writer.api(`/users/${id}`).select(['displayName', 'identities', `extension_${EXT}_loyaltyId`, 'country', 'accountEnabled']).get()) as Record<string, unknown>;
    expect(read).toMatchObject({
      id,
      displayName: 'Jane Smith',
      accountEnabled: true,
      country: 'NL',
      [`extension_${EXT}_loyaltyId`]: 'L-1001',
      identities: [
        { signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'jane.smith@example.com' },
        { signInType: 'federated', issuer: 'google.com', issuerAssignedId: '1045-google-sub' },
      ],
    });
    expect(read.givenName).toBeUndefined();
    // The password works at the token endpoint's sign-in check (the user signs in with it).
    const user = await s.deps.store.findUserBySignInName(s.tenant.id, 'jane.smith@example.com');
    expect(await s.deps.passwords.verify('Graph-Passw0rd', user?.passwordHash)).toBe(true);
    // Without $select, Graph's default properties.
    const plain = (await reader.api(`/users/${id}`).get()) as Record<string, unknown>;
    expect(Object.keys(plain).sort()).toEqual(['@odata.context', 'displayName', 'givenName', 'id', 'jobTitle', 'mail', 'surname', 'userPrincipalName']);
  });

  it('finds a user by identity, local or federated', async () => {
    const byLocal = (await reader.api('/users').filter("identities/any(c:c/issuerAssignedId eq 'jane.smith@example.com' and c/issuer eq 'demo.onmicrosoft.com')").select('id').get()) as { value: { id: string }[] };
    expect(byLocal.value).toEqual([{ id }]);
    const byFederated = (await reader.api('/users').filter("identities/any(id:id/issuer eq 'google.com' and id/issuerAssignedId eq '1045-google-sub')").get()) as { value: { id: string }[] };
    expect(byFederated.value.map((u) => u.id)).toEqual([id]);
    const none = (await reader.api('/users').filter("identities/any(c:c/issuerAssignedId eq 'nobody@example.com' and c/issuer eq 'demo.onmicrosoft.com')").get()) as { value: unknown[] };
    expect(none.value).toEqual([]);
  });

  it('pages through 250 users with $top and @odata.nextLink, and filters by display name and accountEnabled', async () => {
    for (let i = 0; i < 250; i++) {
      await writer.api('/users').post({
        displayName: `Bulk ${String(i).padStart(3, '0')}`,
        accountEnabled: i % 10 !== 0,
        identities: [{ signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: `bulk${i}` }],
        passwordProfile: { password: 'x', forceChangePasswordNextSignIn: false },
        passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword',
      });
    }
    const seen: string[] = [];
    let pages = 0;
    let res = (await reader.api('/users').filter("startswith(displayName,'bulk')").top(100).select('displayName').get()) as { value: { id: string; displayName: string }[]; '@odata.nextLink'?: string };
    for (;;) {
      pages += 1;
      seen.push(...res.value.map((u) => u.displayName));
      if (!res['@odata.nextLink']) break;
      res = (await reader.api(res['@odata.nextLink']).get()) as typeof res;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    const disabled = (await reader.api('/users').filter("startswith(displayName,'Bulk') and accountEnabled eq false").top(999).get()) as { value: unknown[] };
    expect(disabled.value).toHaveLength(25);
    // 250 users created one request at a time (each with its password hashed): give a loaded machine time.
  }, 240_000);

  it('keeps several local identities, other addresses and a required password change; filters by mail, counts and orders', async () => {
    const multi = (await writer.api('/users').post({
      displayName: 'Order Multi',
      identities: [
        { signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'Multi@Example.com' },
        { signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'multi' },
        { signInType: 'phoneNumber', issuer: 'demo.onmicrosoft.com', issuerAssignedId: '+31 6 1111 2222' },
      ],
      otherMails: ['multi.private@example.net'],
      passwordProfile: { password: 'Multi-Passw0rd', forceChangePasswordNextSignIn: true },
    })) as { id: string };
    const read = (await reader.api(`/users/${multi.id}`).select(['identities', 'otherMails', 'mail']).get()) as Record<string, unknown>;
    expect(read).toMatchObject({
      mail: 'Multi@Example.com',
      otherMails: ['multi.private@example.net'],
      identities: [
        { signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'Multi@Example.com' },
        { signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'multi' },
        { signInType: 'phoneNumber', issuer: 'demo.onmicrosoft.com', issuerAssignedId: '+31611112222' },
      ],
    });
    expect((await s.deps.store.findUser(s.tenant.id, multi.id))?.mustChangePassword).toBe(true);
    const byName = (await reader.api('/users').filter("identities/any(c:c/issuerAssignedId eq 'multi' and c/issuer eq 'demo.onmicrosoft.com')").select('id').get()) as { value: { id: string }[] };
    expect(byName.value).toEqual([{ id: multi.id }]);
    await writer.api(`/users/${multi.id}`).patch({ otherMails: ['one@example.net', 'two@example.net'] });
    expect(((await reader.api(`/users/${multi.id}`).select('otherMails').get()) as { otherMails: string[] }).otherMails).toEqual(['one@example.net', 'two@example.net']);

    const byMail = (await reader.api('/users').filter("mail eq 'multi@example.com'").select('id').count(true).header('ConsistencyLevel', 'eventual').get()) as { value: { id: string }[]; '@odata.count': number };
    expect(byMail['@odata.count']).toBe(1);
    expect(byMail.value).toEqual([{ id: multi.id }]);

    for (const name of ['Order Charlie', 'Order alpha', 'Order Bravo', 'Order delta']) {
      await writer.api('/users').post({ displayName: name, identities: [{ signInType: 'federated', issuer: 'github.com', issuerAssignedId: name }] });
    }
    const ordered = async (orderby: string) => {
      const names: string[] = [];
      let res = (await reader.api('/users').filter("startswith(displayName,'Order')").orderby(orderby).top(2).select('displayName').count(true).header('ConsistencyLevel', 'eventual').get()) as { value: { displayName: string }[]; '@odata.nextLink'?: string; '@odata.count': number };
      expect(res['@odata.count']).toBe(5);
      for (;;) {
        names.push(...res.value.map((u) => u.displayName));
        if (!res['@odata.nextLink']) return names;
        // As the Graph SDK's page iterator follows a link: with the request's headers.
        res = (await reader.api(res['@odata.nextLink']).header('ConsistencyLevel', 'eventual').get()) as typeof res;
      }
    };
    expect(await ordered('displayName')).toEqual(['Order Bravo', 'Order Charlie', 'Order Multi', 'Order alpha', 'Order delta']);
    expect(await ordered('displayName desc')).toEqual(['Order delta', 'Order alpha', 'Order Multi', 'Order Charlie', 'Order Bravo']);
    const byCreation = await ordered('createdDateTime desc');
    expect(byCreation[byCreation.length - 1]).toBe('Order Multi');
    expect(new Set(byCreation).size).toBe(5);
  });

  it("takes the tenant's B2C name as the issuer of local identities and in its URLs", async () => {
    const other = (await s.deps.store.findTenant('other'))!;
    await setTenantSettings(s.provision, other, { b2cName: 'fabrikamb2c' });
    const at = graph(otherTenantToken, 'fabrikamb2c.onmicrosoft.com');
    const made = (await at.api('/users').post({
      displayName: 'Fab',
      identities: [{ signInType: 'emailAddress', issuer: 'fabrikamb2c.onmicrosoft.com', issuerAssignedId: 'fab@example.com' }],
      passwordProfile: { password: 'Fab-Passw0rd' },
    })) as { id: string; identities: unknown[]; userPrincipalName: string };
    expect(made.identities).toEqual([{ signInType: 'emailAddress', issuer: 'fabrikamb2c.onmicrosoft.com', issuerAssignedId: 'fab@example.com' }]);
    expect(made.userPrincipalName).toBe(`${made.id}@fabrikamb2c.onmicrosoft.com`);
    const found = (await at.api('/users').filter("identities/any(c:c/issuerAssignedId eq 'fab@example.com' and c/issuer eq 'fabrikamb2c.onmicrosoft.com')").select('id').get()) as { value: { id: string }[] };
    expect(found.value).toEqual([{ id: made.id }]);
    // Another tenant's domain is not this one's issuer.
    const foreign = await graphError(at.api('/users').post({ displayName: 'X', identities: [{ signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'x' }], passwordProfile: { password: 'X-Passw0rd-1' } }));
    expect(foreign.message).toContain("A local account's issuer must be the tenant's domain, 'fabrikamb2c.onmicrosoft.com'.");
  });

  it('patches, disables and deletes a user', async () => {
    await writer.api(`/users/${id}`).patch({ givenName: 'Janet', [`extension_${EXT}_loyaltyId`]: null, city: 'Utrecht' });
    let read = (await reader.api(`/users/${id}`).select(['givenName', `extension_${EXT}_loyaltyId`, 'city']).get()) as Record<string, unknown>;
    expect(read).toMatchObject({ givenName: 'Janet', [`extension_${EXT}_loyaltyId`]: null, city: 'Utrecht' });
    await writer.api(`/users/${id}`).patch({ accountEnabled: false });
    read = (await reader.api(`/users/${id}`).select('accountEnabled').get()) as Record<string, unknown>;
    expect(read.accountEnabled).toBe(false);
    const victim = (await writer.api('/users').post({ displayName: 'Short-lived', identities: [{ signInType: 'federated', issuer: 'github.com', issuerAssignedId: '77' }] })) as { id: string };
    await writer.api(`/users/${victim.id}`).delete();
    const gone = await graphError(reader.api(`/users/${victim.id}`).get());
    expect([gone.statusCode, gone.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  it("revokes a user's sessions: their refresh tokens stop working", async () => {
    const user = (await writer.api('/users').post({
      displayName: 'Rita Revoke',
      identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'rita@example.com' }],
      passwordProfile: { password: 'Rita-Passw0rd!', forceChangePasswordNextSignIn: false },
    })) as { id: string };
    const native = await s.createApp({ name: 'ropc-app', type: 'native', redirectUris: ['http://127.0.0.1/cb'], allowRopc: true });
    const { writePolicy, waitForPolicy } = await import('../helpers/policies.js');
    writePolicy(s, 'B2C_1_ropc', { kind: 'ropc', signUp: { attributes: [], verifyEmail: true } });
    await waitForPolicy(s, 'B2C_1_ropc');
    const ropc = await fetch(`${s.baseUrl}/demo/B2C_1_ropc/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: native.app.clientId, username: 'rita@example.com', password: 'Rita-Passw0rd!', scope: `openid offline_access ${native.app.clientId}`, response_type: 'token id_token' }),
    });
    const { refresh_token } = (await ropc.json()) as { refresh_token: string };
    expect(refresh_token).toBeTruthy();
    const refresh = () =>
      fetch(`${s.baseUrl}/demo/B2C_1_ropc/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: native.app.clientId, refresh_token }),
      });
    const result = (await writer.api(`/users/${user.id}/revokeSignInSessions`).post({})) as { value: boolean };
    expect(result.value).toBe(true);
    const after = await refresh();
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it("answers in Graph's error shape: bad input, unsupported query options, no token, a read-only token writing, another tenant's token", async () => {
    const weak = await graphError(writer.api('/users').post({ displayName: 'Weak', identities: [{ signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'weak' }], passwordProfile: { password: 'short', forceChangePasswordNextSignIn: false } }));
    expect([weak.statusCode, weak.code]).toEqual([400, 'Request_BadRequest']);
    expect(weak.message).toContain('password complexity');
    const withMfa = await graphError(writer.api('/users').post({ displayName: 'F', identities: [{ signInType: 'userName', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'f' }], passwordProfile: { password: 'Str0ng-Passw0rd', forceChangePasswordNextSignInWithMfa: true } }));
    expect(withMfa.message).toContain('forceChangePasswordNextSignInWithMfa is not available');
    const taken = await graphError(writer.api('/users').post({ displayName: 'Dup', identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'jane.smith@example.com' }], passwordProfile: { password: 'Str0ng-Passw0rd' } }));
    expect(taken.message).toContain('Another object with the same value for property identities already exists.');
    const orderby = await graphError(reader.api('/users').orderby('surname').get());
    expect([orderby.statusCode, orderby.code]).toEqual([400, 'Request_UnsupportedQuery']);
    const count = await graphError(reader.api('/users').count(true).get());
    expect([count.statusCode, count.message]).toEqual([400, "$count needs the request header 'ConsistencyLevel: eventual' (Graph's advanced queries)."]);
    const filter = await graphError(reader.api('/users').filter("endswith(mail,'@example.com')").get());
    expect([filter.statusCode, filter.code]).toEqual([400, 'Request_UnsupportedQuery']);
    const select = await graphError(reader.api('/users').select('officeLocation').get());
    expect(select.message).toBe("Could not find a property named 'officeLocation' on type 'microsoft.graph.user'.");
    const readOnly = await graphError(reader.api(`/users/${id}`).patch({ givenName: 'X' }));
    expect([readOnly.statusCode, readOnly.code]).toEqual([403, 'Authorization_RequestDenied']);
    const foreign = await graphError(graph(otherTenantToken).api(`/users/${id}`).get());
    expect([foreign.statusCode, foreign.code]).toEqual([401, 'InvalidAuthenticationToken']);

    const raw = await fetch(`${s.baseUrl}/demo/graph/v1.0/users`);
    expect(raw.status).toBe(401);
    const body = (await raw.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(Object.keys(body.error.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
    const malformed = await fetch(`${s.baseUrl}/demo/graph/v1.0/users`, { method: 'POST', headers: { authorization: `Bearer ${writerToken}`, 'content-type': 'application/json' }, body: '{"displayName":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('Request_BadRequest');
  });
});
