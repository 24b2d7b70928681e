// Ceilings for the benchmark: a bare Fastify route, and bare Fastify + jose RS256 signing with one
// or two signatures per response (what a token endpoint cannot beat).
import { generateKeyPair, SignJWT } from 'jose';
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const app = Fastify({ logger: false });
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
const doc = JSON.stringify({ issuer: 'http://127.0.0.1/', keys: Array.from({ length: 8 }, (_, i) => ({ kid: `k${i}`, n: 'x'.repeat(342), e: 'AQAB' })) });

const sign = () =>
  new SignJWT({ sub: crypto.randomUUID(), aud: 'api', scp: 'read' }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);

app.get('/static', async (_req, reply) => reply.type('application/json').send(doc));
app.post('/sign1', async () => ({ access_token: await sign(), token_type: 'Bearer' }));
app.post('/sign2', async () => ({ access_token: await sign(), id_token: await sign(), token_type: 'Bearer' }));
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('ready\n');
