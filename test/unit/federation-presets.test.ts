import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadIdentityProviders, type IdentityProvider } from '../../src/federation/config.js';
import { mapProfile } from '../../src/federation/presets.js';

/**
 * Each preset's claim mapping against recorded answers of the real providers (test/fixtures/federation),
 * through the same configuration loading the server does.
 */
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'federation');
const json = (name: string) => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as Record<string, unknown>;
const dir = mkdtempSync(join(tmpdir(), 'latchkey-presets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const appleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

function load(providers: unknown[], env: Record<string, string> = {}): Map<string, IdentityProvider> {
  writeFileSync(join(dir, 'identity-providers.json'), JSON.stringify({ providers }));
  const r = loadIdentityProviders(dir, env);
  if ('problems' in r) throw new Error(JSON.stringify(r.problems));
  return r.providers;
}

const secret = { env: 'SECRET' };
const env = { SECRET: 's3cret', APPLE_KEY: appleKey };
const providers = load(
  [
    { id: 'google', type: 'google', displayName: 'Google', clientId: 'g', clientSecret: secret },
    { id: 'msa', type: 'microsoft', displayName: 'Microsoft', clientId: 'm', clientSecret: secret },
    { id: 'apple', type: 'apple', displayName: 'Apple', clientId: 'com.contoso.signin', teamId: 'A1B2C3D4E5', keyId: 'K1L2M3N4O5', privateKey: { env: 'APPLE_KEY' } },
    { id: 'github', type: 'github', displayName: 'GitHub', clientId: 'gh', clientSecret: secret },
    { id: 'facebook', type: 'facebook', displayName: 'Facebook', clientId: 'fb', clientSecret: secret },
  ],
  env,
);
const preset = (id: string) => providers.get(id)!;

describe('presets', () => {
  it('fill in endpoints, scopes and the B2C domain of each provider', () => {
    expect(preset('google')).toMatchObject({ protocol: 'oidc', domain: 'google.com', discoveryUrl: 'https://accounts.google.com/.well-known/openid-configuration', scopes: ['openid', 'email', 'profile'] });
    expect(preset('msa')).toMatchObject({ protocol: 'oidc', domain: 'live.com', discoveryUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration' });
    expect(preset('apple')).toMatchObject({ protocol: 'oidc', domain: 'apple.com', responseMode: 'form_post', scopes: ['openid', 'email', 'name'] });
    expect(preset('github')).toMatchObject({ protocol: 'oauth2', domain: 'github.com', tokenUrl: 'https://github.com/login/oauth/access_token', emailsUrl: 'https://api.github.com/user/emails' });
    expect(preset('facebook')).toMatchObject({ protocol: 'oauth2', domain: 'facebook.com', userinfoUrl: 'https://graph.facebook.com/v19.0/me?fields=id,name,email,first_name,last_name' });
    expect(preset('google').clientSecret).toBe('s3cret');
  });

  it('Google: the id_token subject, a verified email and the names', () => {
    const p = mapProfile(preset('google'), { idToken: json('google-id-token.json') });
    expect(p).toEqual({
      issuerAssignedId: '110169484474386276334',
      email: 'ada.lovelace@gmail.com',
      emailVerified: true,
      claims: { given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' },
    });
  });

  it('Microsoft: the oid is the subject (as B2C keys live.com identities), and its email is not vouched for', () => {
    const p = mapProfile(preset('msa'), { idToken: json('microsoft-id-token.json') });
    expect(p.issuerAssignedId).toBe('00000000-0000-0000-66f3-3332eca7ea81');
    expect(p.email).toBe('ada.lovelace@outlook.com');
    expect(p.emailVerified).toBe(false);
    expect(p.claims.name).toBe('Ada Lovelace');
    // An operator who trusts the tenant's addresses says so.
    expect(mapProfile({ ...preset('msa'), trustEmail: true }, { idToken: json('microsoft-id-token.json') }).emailVerified).toBe(true);
  });

  it("Apple: the name arrives only in the first sign-in's form post; email_verified is a string", () => {
    const first = mapProfile(preset('apple'), { idToken: json('apple-id-token.json'), appleUser: readFileSync(join(fixtures, 'apple-first-sign-in-user.txt'), 'utf8') });
    expect(first).toEqual({
      issuerAssignedId: '001234.5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d.1234',
      email: 'x7fk29qdpm@privaterelay.appleid.com',
      emailVerified: true,
      claims: { given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' },
    });
    const later = mapProfile(preset('apple'), { idToken: json('apple-id-token.json') });
    expect(later.issuerAssignedId).toBe(first.issuerAssignedId);
    expect(later.claims).toEqual({});
    // A malformed user field is ignored, not fatal.
    expect(mapProfile(preset('apple'), { idToken: json('apple-id-token.json'), appleUser: '{not json' }).claims).toEqual({});
  });

  it('GitHub: the numeric id, the primary verified address from /user/emails', () => {
    const p = mapProfile(preset('github'), { userinfo: json('github-user.json'), githubEmails: JSON.parse(readFileSync(join(fixtures, 'github-user-emails.json'), 'utf8')) });
    expect(p).toEqual({ issuerAssignedId: '5832319', email: 'ada@example.com', emailVerified: true, claims: { name: 'Ada Lovelace' } });
    // Without the verified list, a public profile address is not trusted.
    const unlisted = mapProfile(preset('github'), { userinfo: { ...json('github-user.json'), email: 'public@example.com' } });
    expect(unlisted.email).toBe('public@example.com');
    expect(unlisted.emailVerified).toBe(false);
  });

  it('Facebook: the Graph fields', () => {
    const p = mapProfile(preset('facebook'), { userinfo: json('facebook-me.json') });
    expect(p).toEqual({
      issuerAssignedId: '10224061958285632',
      email: 'ada@example.com',
      emailVerified: false,
      claims: { given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' },
    });
  });

  it('lets a mapping be overridden, and refuses an answer without a user id', () => {
    const custom = load([{ id: 'fb2', type: 'facebook', displayName: 'FB', clientId: 'fb', clientSecret: secret, claimMapping: { country: 'location.country' } }], env).get('fb2')!;
    expect(mapProfile(custom, { userinfo: { ...json('facebook-me.json'), location: { country: 'NL' } } }).claims.country).toBe('NL');
    expect(() => mapProfile(preset('google'), { idToken: { email: 'x@example.com' } })).toThrow(/no user id/);
  });
});

describe('identity-providers.json validation', () => {
  const problems = (providers: unknown[], e: Record<string, string> = env) => {
    writeFileSync(join(dir, 'identity-providers.json'), JSON.stringify({ providers }));
    const r = loadIdentityProviders(dir, e);
    return 'problems' in r ? r.problems.map((p) => `${p.path}: ${p.message}`) : [];
  };

  it('takes secrets only from the environment, and says which variable is missing', () => {
    expect(problems([{ id: 'g', type: 'google', displayName: 'G', clientId: 'g', clientSecret: 'inline-secret' }]).join('\n')).toMatch(/^\$\.providers\[0\]\.clientSecret: /);
    expect(problems([{ id: 'g', type: 'google', displayName: 'G', clientId: 'g', clientSecret: { env: 'NOT_SET_HERE' } }], {})).toEqual(['$.providers[0].clientSecret: the environment variable NOT_SET_HERE is not set']);
  });

  it('refuses http endpoints other than localhost, duplicate ids and domains, unknown fields, and the id local', () => {
    expect(problems([{ id: 'x', type: 'oidc', displayName: 'X', clientId: 'x', discoveryUrl: 'http://idp.example/.well-known/openid-configuration' }])).toEqual([
      '$.providers[0].discoveryUrl: must use https (http is allowed for localhost only)',
    ]);
    const dup = problems([
      { id: 'a', type: 'google', displayName: 'A', clientId: 'a', clientSecret: secret },
      { id: 'a', type: 'google', displayName: 'B', clientId: 'b', clientSecret: secret },
    ]);
    expect(dup).toContain('$.providers[1].id: duplicates the id of providers[0]');
    expect(dup.some((p) => p.startsWith("$.providers[1].domainHint: 'google.com' is the domain of providers[0]"))).toBe(true);
    expect(problems([{ id: 'g', type: 'google', displayName: 'G', clientId: 'g', clientSecret: secret, tennant: 'x' }])[0]).toMatch(/tennant/);
    expect(problems([{ id: 'local', type: 'google', displayName: 'G', clientId: 'g', clientSecret: secret }])[0]).toMatch(/'local' is the local-account provider/);
  });

  it('needs an oauth2 provider to map the user id, and an Apple key', () => {
    expect(problems([{ id: 'o', type: 'oauth2', displayName: 'O', clientId: 'o', clientSecret: secret, authorizationUrl: 'https://o.example/a', tokenUrl: 'https://o.example/t', userinfoUrl: 'https://o.example/u', claimMapping: { email: 'mail' } }])).toEqual([
      '$.providers[0].claimMapping: must map sub (the upstream user id)',
    ]);
    expect(problems([{ id: 'a', type: 'apple', displayName: 'A', clientId: 'c', teamId: 'A1B2C3D4E5', keyId: 'K1L2M3N4O5' }])[0]).toMatch(/privateKey: give exactly one of privateKey/);
    expect(problems([{ id: 'a', type: 'apple', displayName: 'A', clientId: 'c', teamId: 'A1B2C3D4E5', keyId: 'K1L2M3N4O5', privateKey: { env: 'SECRET' } }])).toEqual([
      '$.providers[0].privateKey: is not a PKCS#8 PEM key (the .p8 file Apple gives you)',
    ]);
  });

  it("names the issuer of each provider's identities as B2C stored it, or as the file says", () => {
    expect([...providers.values()].map((p) => [p.id, p.identityIssuer])).toEqual([
      ['google', 'google.com'],
      ['msa', 'live.com'],
      // B2C's Apple setup stores Apple's issuer URL; identities Latchkey stored as apple.com are still found.
      ['apple', 'https://appleid.apple.com'],
      ['github', 'github.com'],
      ['facebook', 'facebook.com'],
    ]);
    expect(preset('apple').formerIssuer).toBe('apple.com');
    const loaded = load([
      // A generic provider: its issuer's host; before identityIssuer, its id was the issuer.
      { id: 'corp', type: 'oidc', displayName: 'Corp', clientId: 'c', discoveryUrl: 'https://login.corp.example/.well-known/openid-configuration' },
      // One Entra ID tenant: its issuer URL, as B2C stores a work account's.
      { id: 'aad', type: 'microsoft', displayName: 'AAD', clientId: 'm', clientSecret: secret, tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
      // What the B2C export shows, and what B2C's policy named the provider by (domain_hint): a word and a URL.
      { id: 'fab', type: 'oidc', displayName: 'Fab', clientId: 'f', discoveryUrl: 'https://fab.example/.well-known/openid-configuration', identityIssuer: 'https://sts.fab.example/abc/', domainHint: 'CommonAAD' },
      { id: 'hinted', type: 'oidc', displayName: 'H', clientId: 'h', discoveryUrl: 'https://h.example/.well-known/openid-configuration', domainHint: 'https://h.example/tenant' },
    ], env);
    expect(loaded.get('corp')).toMatchObject({ identityIssuer: 'login.corp.example', formerIssuer: 'corp', domain: 'corp' });
    expect(loaded.get('aad')).toMatchObject({ identityIssuer: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', domain: 'live.com' });
    expect(loaded.get('fab')).toMatchObject({ identityIssuer: 'https://sts.fab.example/abc/', domain: 'commonaad', formerIssuer: 'commonaad' });
    // A domain hint given was also the identities' issuer, and stays so.
    expect(loaded.get('hinted')).toMatchObject({ identityIssuer: 'https://h.example/tenant', domain: 'https://h.example/tenant' });
    expect(loaded.get('hinted')!.formerIssuer).toBeUndefined();
  });

  it('refuses two providers whose users would share an identity issuer', () => {
    const clash = problems([
      { id: 'one', type: 'oidc', displayName: 'One', clientId: 'a', discoveryUrl: 'https://same.example/.well-known/openid-configuration' },
      { id: 'two', type: 'oidc', displayName: 'Two', clientId: 'b', discoveryUrl: 'https://same.example/.well-known/openid-configuration' },
    ]);
    expect(clash).toEqual(["$.providers[1].identityIssuer: the users of providers[0] get identities of the issuer 'same.example' too, so a user of one could sign in as a user of the other; give one of them another identityIssuer"]);
    // A provider still finds users under its former issuer: that counts too.
    expect(problems([
      { id: 'corp', type: 'oidc', displayName: 'Corp', clientId: 'c', discoveryUrl: 'https://login.corp.example/.well-known/openid-configuration' },
      { id: 'other', type: 'oidc', displayName: 'Other', clientId: 'o', discoveryUrl: 'https://o.example/.well-known/openid-configuration', identityIssuer: 'corp' },
    ])).toHaveLength(1);
    expect(problems([{ id: 'x', type: 'oidc', displayName: 'X', clientId: 'x', discoveryUrl: 'https://x.example/.well-known/openid-configuration', identityIssuer: 'with space' }])[0]).toMatch(/^\$\.providers\[0\]\.identityIssuer: must be the issuer B2C's export shows/);
  });
});
