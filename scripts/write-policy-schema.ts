// Writes policies/policy.schema.json from the zod policy schema.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyJsonSchemaText } from '../src/journeys/policy-json-schema.js';

writeFileSync(join(import.meta.dirname, '..', 'policies', 'policy.schema.json'), policyJsonSchemaText());
