import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import { bearerToken } from '../oauth/access-token.js';
import { OAuthError } from '../model/errors.js';
import { authenticateEndpointClient, clientAuthFailed, handleTokenRequest } from '../oauth/token.js';
import type { AuthenticatedClient } from '../oauth/client-auth.js';
import { introspect, revoke } from '../oauth/introspection.js';
import type { Tenant } from '../model/entities.js';
import { userinfo } from '../oauth/userinfo.js';
import { allowSpaOrigin, preflightHeaders } from './cors.js';
import { isFormEncoded, refuseCredentialsInQuery } from './forms.js';
import { tenantRoute } from './tenant-routes.js';

/** The token endpoint (RFC 6749 §3.2) and userinfo (OIDC Core §5.3), with CORS for SPA origins. */
export function registerTokenRoutes(app: FastifyInstance, deps: Deps): void {
  tenantRoute(app, deps, ['POST'], 'oauth2/v2.0/token', 'json', async (req, reply, tp) => {
    await allowSpaOrigin(deps, tp.tenant, req, reply);
    if (!isFormEncoded(req) || typeof req.body !== 'object' || req.body === null) {
      throw new OAuthError('invalid_request', 'The token request must be a POST with an application/x-www-form-urlencoded body.');
    }
    refuseCredentialsInQuery(req);
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const body = await handleTokenRequest(deps, tp.tenant, tp.policy, req.body as Record<string, unknown>, req.headers.authorization, req.ip, req.site, origin);
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
  });

  tenantRoute(app, deps, ['GET', 'POST'], 'openid/v2.0/userinfo', 'json', async (req, reply, tp) => {
    await allowSpaOrigin(deps, tp.tenant, req, reply);
    const claims = await userinfo(deps, tp.tenant, bearerToken(req.headers.authorization));
    return reply.header('cache-control', 'no-store').send(claims);
  });

  // RFC 7662 and RFC 7009: the client authenticates as at the token endpoint.
  const clientEndpoint = (suffix: string, run: (client: AuthenticatedClient, params: Record<string, string>, tenant: Tenant) => Promise<unknown>) =>
    tenantRoute(app, deps, ['POST'], suffix, 'json', async (req, reply, tp) => {
      if (!isFormEncoded(req) || typeof req.body !== 'object' || req.body === null) {
        throw new OAuthError('invalid_request', 'The request must be a POST with an application/x-www-form-urlencoded body.');
      }
      refuseCredentialsInQuery(req);
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.body as Record<string, unknown>)) {
        if (typeof value !== 'string') throw new OAuthError('invalid_request', `The parameter '${name.slice(0, 40)}' was sent more than once.`);
        params[name] = value;
      }
      const client = await authenticateEndpointClient(deps, tp.tenant, params, req.headers.authorization, req.ip);
      let body: unknown;
      try {
        body = await run(client, params, tp.tenant);
      } catch (err) {
        // The client was of the wrong type for the call (its secret missing): a failed authentication too.
        await clientAuthFailed(deps, tp.tenant, err, req.headers.authorization, params, req.ip);
        throw err;
      }
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body ?? '');
    });
  clientEndpoint('oauth2/v2.0/introspect', (client, params, tenant) => introspect(deps, tenant, client, params));
  clientEndpoint('oauth2/v2.0/revoke', async (client, params, tenant) => {
    await revoke(deps, tenant, client, params);
  });

  for (const suffix of ['oauth2/v2.0/token', 'openid/v2.0/userinfo']) {
    tenantRoute(app, deps, ['OPTIONS'], suffix, 'json', async (req, reply, tp) => {
      if (await allowSpaOrigin(deps, tp.tenant, req, reply)) preflightHeaders(reply);
      return reply.code(204).send();
    });
  }
}
