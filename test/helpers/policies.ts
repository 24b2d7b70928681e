import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestServer } from './server.js';

/** Writes a policy into the demo tenant's folder: a copy of `from` with `id` and the given fields. */
export function writePolicy(s: TestServer, id: string, extra: Record<string, unknown>, from = 'B2C_1_signupsignin'): void {
  const base = JSON.parse(readFileSync(join(s.dir, 'policies', 'demo', `${from}.json`), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(s.dir, 'policies', 'demo', `${id}.json`), JSON.stringify({ ...base, id, ...extra }));
}

/** Waits until the running server serves the policy (its folder is watched). */
export async function waitForPolicy(s: TestServer, id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${s.baseUrl}/demo/${id}/v2.0/.well-known/openid-configuration`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`policy ${id} did not load`);
}
