import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConnectors, ConnectorError } from '../../src/connectors/api-connector.js';
import { claimName, connectorRequest } from '../../src/connectors/attributes.js';
import { validatePolicyFile } from '../../src/services/policies.js';
import { policySchema, type ApiConnector } from '../../src/model/policy.js';
import type { Tenant } from '../../src/model/entities.js';
import { outboundClient } from '../helpers/outbound.js';
import { freePort } from '../helpers/ports.js';

const tenant = { id: '11111111-2222-3333-4444-555555555555', slug: 'contoso', extensionsAppId: 'abcdefabcdefabcdefabcdefabcdefab' } as Tenant;

describe('answers by B2C\'s contract', () => {
  let server: Server;
  let base: string;
  const answers: Record<string, [number, string]> = {
    '/continue': [200, JSON.stringify({ version: '1.0.0', action: 'Continue', givenName: 'Ann', extension_abcdefabcdefabcdefabcdefabcdefab_tier: 'gold' })],
    '/block': [200, JSON.stringify({ version: '1.0.0', action: 'ShowBlockPage', userMessage: 'No.' })],
    '/block-silent': [200, JSON.stringify({ version: '1.0.0', action: 'ShowBlockPage' })],
    '/validation': [400, JSON.stringify({ version: '1.0.0', status: 400, action: 'ValidationError', userMessage: 'Fix it.' })],
    '/validation-200': [200, JSON.stringify({ version: '1.0.0', action: 'ValidationError', userMessage: 'Fix it.' })],
    '/error-500': [500, JSON.stringify({ action: 'Continue' })],
    '/unknown-action': [200, JSON.stringify({ action: 'Proceed' })],
    '/array': [200, '[1,2]'],
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const a = answers[req.url ?? ''];
        if (a) res.writeHead(a[0], { 'content-type': 'application/json' }).end(a[1]);
        else req.socket.destroy(); // a connection that fails
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const connectors = new ApiConnectors(outboundClient(), { PW: 'pw' });
  const at = (path: string): ApiConnector => ({ url: `${base}${path}`, auth: { type: 'basic', username: 'u', password: { env: 'PW' } }, timeoutSeconds: 2 });

  it('reads Continue with its claims, ShowBlockPage and ValidationError', async () => {
    expect((await connectors.call(at('/continue'), {})).outcome).toEqual({ action: 'continue', claims: { givenName: 'Ann', extension_abcdefabcdefabcdefabcdefabcdefab_tier: 'gold' } });
    expect((await connectors.call(at('/block'), {})).outcome).toEqual({ action: 'block', userMessage: 'No.' });
    expect((await connectors.call(at('/validation'), {})).outcome).toEqual({ action: 'validation', userMessage: 'Fix it.' });
  });

  it('refuses what the contract does not have, without retrying an answer', async () => {
    for (const [path, reason] of [
      ['/block-silent', 'ShowBlockPage without a userMessage'],
      ['/validation-200', "answered 200 with action 'ValidationError'"],
      ['/error-500', "answered 500 with action 'Continue'"],
      ['/unknown-action', "action 'Proceed'"],
      ['/array', 'JSON that is not an object'],
    ] as const) {
      const err = await connectors.call(at(path), {}).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).message, path).toContain(reason);
      expect((err as ConnectorError).attempts, path).toBe(1);
    }
  });

  it('tries once more after a failed connection', async () => {
    const err = (await connectors.call(at('/reset'), {}).catch((e: unknown) => e)) as ConnectorError;
    expect(err.kind).toBe('unreachable');
    expect(err.attempts).toBe(2);
  });
});

describe('names and requests', () => {
  it('speaks Graph names, custom attributes with the extensions app id, and reads them back with or without it', () => {
    const body = connectorRequest(tenant, 'postAttributeCollection', { email: 'a@b.c', identities: [], values: { given_name: 'A', family_name: '', country: 'NL', tier: 'gold', empty: null } }, 'client', 'fr');
    expect(body).toEqual({ email: 'a@b.c', identities: [], givenName: 'A', country: 'NL', extension_abcdefabcdefabcdefabcdefabcdefab_tier: 'gold', step: 'PostAttributeCollection', client_id: 'client', ui_locales: 'fr' });
    expect(claimName(tenant, 'extension_abcdefabcdefabcdefabcdefabcdefab_tier')).toBe('tier');
    expect(claimName(tenant, 'extension_tier')).toBe('tier');
    expect(claimName(tenant, 'tier')).toBe('tier');
    expect(claimName(tenant, 'surname')).toBe('family_name');
  });
});

describe('apiConnectors in a policy', () => {
  const connector = { url: 'https://api.contoso.example/check', auth: { type: 'bearer', token: { env: 'LK_TEST_CONNECTOR_TOKEN' } } };
  it('refuses http off the loopback, an unknown auth type, and a step the kind does not have', () => {
    const issue = (p: unknown) => policySchema.safeParse(p).error?.issues[0]?.message;
    expect(issue({ id: 'B2C_1_x', kind: 'signUpOrSignIn', apiConnectors: { postAttributeCollection: { ...connector, url: 'http://api.contoso.example/x' } } })).toMatch(/https URL/);
    expect(issue({ id: 'B2C_1_x', kind: 'signUpOrSignIn', apiConnectors: { postAttributeCollection: { ...connector, auth: { type: 'apiKey' } } } })).toMatch(/basic.*bearer.*clientCertificate/);
    expect(issue({ id: 'B2C_1_x', kind: 'signIn', apiConnectors: { postAttributeCollection: connector } })).toMatch(/a signIn policy has no postAttributeCollection step/);
    expect(issue({ id: 'B2C_1_x', kind: 'profileEdit', apiConnectors: { preTokenIssuance: connector } })).toMatch(/a profileEdit policy has no preTokenIssuance step/);
    expect(policySchema.safeParse({ id: 'B2C_1_x', kind: 'signIn', apiConnectors: { preTokenIssuance: connector } }).data?.apiConnectors.preTokenIssuance?.timeoutSeconds).toBe(20);
  });

  it('needs the secrets it names in the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-connector-policy-'));
    try {
      const file = join(dir, 'B2C_1_x.json');
      writeFileSync(file, JSON.stringify({ id: 'B2C_1_x', kind: 'signIn', apiConnectors: { preTokenIssuance: connector } }));
      delete process.env.LK_TEST_CONNECTOR_TOKEN;
      expect(validatePolicyFile(file)).toEqual({ problems: [{ file, path: '$.apiConnectors.preTokenIssuance.auth.token', message: 'the environment variable LK_TEST_CONNECTOR_TOKEN is not set' }] });
      process.env.LK_TEST_CONNECTOR_TOKEN = 'x';
      expect('policy' in validatePolicyFile(file)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
