import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatProblem, isPolicyFile, validatePolicyFile, type PolicyProblem } from '../../journeys/loader.js';
import { ProvisionError } from '../../provision.js';
import { parse, usageError, type Command } from '../context.js';

/** Every policy file under the policies folder (one sub-folder per tenant). */
function allPolicyFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new ProvisionError(`no policies folder at ${dir}`);
  const files: string[] = [];
  for (const tenant of readdirSync(dir).sort()) {
    const folder = join(dir, tenant);
    if (!statSync(folder).isDirectory()) continue;
    for (const name of readdirSync(folder).sort()) if (isPolicyFile(name)) files.push(join(folder, name));
  }
  return files;
}

export const policyCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub !== 'validate') throw usageError('usage: latchkey policy validate [files…]');
  const { positionals } = parse(rest, {}, true);
  const files = positionals.length > 0 ? positionals.map((f) => resolve(f)) : allPolicyFiles(ctx.config.policiesDir);
  const problems: PolicyProblem[] = [];
  const valid: string[] = [];
  for (const file of files) {
    const r = validatePolicyFile(file);
    if ('problems' in r) problems.push(...r.problems);
    else valid.push(file);
  }
  if (ctx.json) ctx.printJson({ valid, problems });
  else {
    for (const p of problems) ctx.print(formatProblem(p));
    ctx.print(`${valid.length} valid, ${files.length - valid.length} invalid`);
  }
  if (problems.length > 0) process.exitCode = 1;
};
