import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { BearerError, createTokenVerifier, type Requirement, type VerifiedToken, type VerifierOptions } from './verifier.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** A preHandler that admits requests whose bearer token meets `requirement`. */
    latchkeyAuth(requirement?: Requirement): preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    /** The verified access token, set by `latchkeyAuth`. */
    latchkey?: VerifiedToken;
  }
}

/**
 * Fastify form of the verifier: `app.register(latchkeyAuthPlugin, { issuer, audience })`, then
 * `{ preHandler: app.latchkeyAuth({ scopes: ['tasks.read'] }) }` on a route; `request.latchkey` holds the
 * token. Refusals are answered with RFC 6750's status, WWW-Authenticate and a JSON body.
 */
const plugin: FastifyPluginAsync<VerifierOptions> = async (app, opts) => {
  const verifier = createTokenVerifier(opts);
  app.decorateRequest('latchkey', undefined);
  app.decorate('latchkeyAuth', (requirement?: Requirement): preHandlerAsyncHookHandler => {
    return async function latchkeyPreHandler(req: FastifyRequest, reply: FastifyReply) {
      try {
        req.latchkey = await verifier.verify(req.headers.authorization, requirement);
      } catch (err) {
        if (!(err instanceof BearerError)) throw err;
        return reply.code(err.status).header('www-authenticate', err.wwwAuthenticate).send(err.toJSON());
      }
    };
  });
};

export const latchkeyAuthPlugin = fp(plugin, { fastify: '5.x', name: 'latchkey-auth' });
