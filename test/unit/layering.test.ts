import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The shape of src/, kept by a test: every module may import (types included) only from its own layer
 * or a lower one. A failure names the import that runs upward; move the shared piece down (often into
 * model/) rather than lifting the rule.
 *
 *   model        the leaf: entities, policy schema, error catalogue, messages, patterns; imports nothing of Latchkey
 *   foundation   crypto, paths: no state of a request
 *   store        the Store interface and its SQL engines
 *   adapters     what services use to reach the world: configuration, outbound HTTP, mail, text messages, audit and counters, metrics,
 *                signing keys, connectors, upstream providers, page rendering
 *   services     the only code that writes an entity; the dependencies' interface (services/deps.ts)
 *   protocols    oauth/, journeys/, saml/
 *   surfaces     http/, admin/, cli/, console/, resource-server/
 *   app          start-up and wiring (app.ts, main.ts, runtime.ts, index.ts; the CLI's entry cli/latchkey.ts)
 */
const LAYERS: [string, string[]][] = [
  ['model', ['model']],
  ['foundation', ['crypto', 'paths.ts', 'thread-priorities.ts']],
  ['store', ['store']],
  ['adapters', ['config.ts', 'outbound', 'mail', 'sms', 'security', 'observability', 'tokens', 'connectors', 'federation', 'migration', 'ui']],
  ['services', ['services']],
  ['protocols', ['oauth', 'journeys', 'saml']],
  ['surfaces', ['http', 'admin', 'cli', 'console', 'resource-server']],
  // The two entry points wire the dependencies (runtime.ts): the server (main.ts) and the CLI (cli/latchkey.ts).
  ['app', ['app.ts', 'main.ts', 'runtime.ts', 'index.ts', 'start-early.ts', 'cli/latchkey.ts']],
];

const src = join(import.meta.dirname, '..', '..', 'src');

function rankOf(file: string): number {
  const path = relative(src, file);
  const top = path.split('/')[0]!;
  // A file named on its own (an entry point) before its folder.
  const own = LAYERS.findIndex(([, rooms]) => rooms.includes(path));
  const i = own >= 0 ? own : LAYERS.findIndex(([, rooms]) => rooms.includes(top));
  if (i < 0) throw new Error(`${relative(src, file)} is in no layer: add its folder to LAYERS in test/unit/layering.test.ts`);
  return i;
}

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g;

describe('the shape of src/', () => {
  it('has no import that runs against the layering (model ← store ← services ← protocols ← surfaces ← app)', () => {
    const upward: string[] = [];
    for (const file of sources(src)) {
      const rank = rankOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
        const targetRank = rankOf(target);
        if (targetRank > rank) upward.push(`${relative(src, file)} (${LAYERS[rank]![0]}) imports ${relative(src, target)} (${LAYERS[targetRank]![0]})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps model/ a leaf that imports nothing of Latchkey outside it', () => {
    const outside: string[] = [];
    for (const file of sources(join(src, 'model'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = normalize(join(dirname(file), m[1]!));
        if (!relative(join(src, 'model'), target).startsWith('..')) continue;
        outside.push(`${relative(src, file)} imports ${relative(src, target)}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
