import { z } from 'zod';
import { policySchema } from '../model/policy.js';

/**
 * The policy format as JSON Schema (what an editor reads through each file's `$schema`), derived
 * from the zod schema so the two cannot drift. `policies/policy.schema.json` is this, written by
 * `npm run policy-schema`; a test checks the committed file is current.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'Latchkey policy',
    description: 'A user journey (sign-up, sign-in, profile edit, password reset) of a Latchkey tenant.',
  };
}

export function policyJsonSchemaText(): string {
  return JSON.stringify(policyJsonSchema(), null, 2) + '\n';
}
