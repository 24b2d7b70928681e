import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { latchkeyAuthPlugin } from '../../src/resource-server/index.js';

/**
 * TaskService: a web API that keeps each user's tasks under the `oid` of the access token and
 * enforces the delegated scopes `tasks.read` and `tasks.write` with Latchkey's Fastify plugin.
 */
export interface Task {
  id: string;
  text: string;
  createdAt: string;
}

export async function buildTaskApi(opts: { issuer: string; audience: string }): Promise<FastifyInstance> {
  const tasks = new Map<string, Task[]>();
  const api = Fastify({ logger: false });
  await api.register(latchkeyAuthPlugin, { issuer: opts.issuer, audience: opts.audience, realm: 'tasks' });

  api.get('/tasks', { preHandler: api.latchkeyAuth({ scopes: ['tasks.read'] }) }, async (req) => tasks.get(req.latchkey!.userId!) ?? []);

  api.post('/tasks', { preHandler: api.latchkeyAuth({ scopes: ['tasks.write'] }) }, async (req, reply) => {
    const text = typeof (req.body as { text?: unknown } | undefined)?.text === 'string' ? (req.body as { text: string }).text.trim() : '';
    if (text.length === 0 || text.length > 200) {
      return reply.code(400).send({ error: 'invalid_request', error_description: 'A task needs 1-200 characters of text.' });
    }
    const task: Task = { id: randomUUID(), text, createdAt: new Date().toISOString() };
    const userId = req.latchkey!.userId!;
    tasks.set(userId, [...(tasks.get(userId) ?? []), task]);
    return reply.code(201).send(task);
  });
  return api;
}
