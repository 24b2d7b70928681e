import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { IDENTITY_PROVIDERS_FILE, loadIdentityProviders } from '../../federation/config.js';
import { formatProblem, isPolicyFile, policySecretRefs, tenantContextFor, validatePolicyFile, type PolicyProblem } from '../../services/policies.js';
import { tenantHasOwnHost } from '../../services/tenant-domains.js';
import { secretRefProblem } from '../../services/tenant-secrets.js';
import type { SecretRef } from '../../model/secret-ref.js';
import pino from 'pino';
import { systemClock } from '../../model/clock.js';
import { notFound } from '../../model/errors.js';
import { templateLocation } from '../../model/page-layout.js';
import { PageLayouts } from '../../ui/layouts/page-layouts.js';
import { AddressPolicy } from '../../outbound/address-policy.js';
import { OutboundClient } from '../../outbound/outbound-client.js';
import type { Command } from 'commander';
import type { Run } from '../context.js';

/** Every policy file and identity-providers.json under the policies folder (one sub-folder per tenant). */
function allFiles(dir: string): string[] {
  if (!existsSync(dir)) throw notFound(`no policies folder at ${dir}`);
  const files: string[] = [];
  for (const tenant of readdirSync(dir).sort()) {
    const folder = join(dir, tenant);
    if (!statSync(folder).isDirectory()) continue;
    for (const name of readdirSync(folder).sort()) if (isPolicyFile(name) || name === IDENTITY_PROVIDERS_FILE) files.push(join(folder, name));
  }
  return files;
}

/** Why a tenant secret a policy names cannot be used (not set, no such tenant), or undefined. */
type SecretCheck = (tenantSlug: string, ref: SecretRef) => Promise<string | undefined>;

/** Whether the tenant of a folder is served on a host of its own (its layouts may then run JavaScript). */
type OwnHostCheck = (tenantSlug: string) => Promise<boolean>;

/**
 * The server's checks: a policy against its schema and its tenant's identity providers and layout
 * files; the providers file against its own. Beyond the server's: page layouts given by URL are fetched
 * now (in the policy's language, or English) and must have `<div id="api">`.
 */
async function validate(file: string, layouts: PageLayouts, secretProblem: SecretCheck, ownHost: OwnHostCheck): Promise<PolicyProblem[]> {
  if (basename(file) === IDENTITY_PROVIDERS_FILE) {
    const r = existsSync(file) ? loadIdentityProviders(dirname(file)) : { problems: [{ file, path: '$', message: 'cannot read (ENOENT)' }] };
    return 'problems' in r ? r.problems : [];
  }
  const r = validatePolicyFile(file, { ...tenantContextFor(dirname(file)), hasOwnHost: await ownHost(basename(dirname(file))) });
  if ('problems' in r) return r.problems;
  const problems: PolicyProblem[] = [];
  for (const { path, ref } of policySecretRefs(r.policy)) {
    const problem = 'secret' in ref ? await secretProblem(basename(dirname(file)), ref) : undefined;
    if (problem) problems.push({ file, path, message: problem });
  }
  for (const [type, layout] of Object.entries(r.policy.ui.pageLayouts ?? {})) {
    if (!layout || templateLocation(layout.template, 'en').kind !== 'url') continue;
    const problem = await layouts.check(basename(dirname(file)), layout.template, layout.javaScript, r.policy.ui.locale ?? 'en');
    if (problem) problems.push({ file, path: `$.ui.pageLayouts.${type}`, message: problem });
  }
  return problems;
}

export function registerPolicy(program: Command, run: Run): void {
  const policy = program.command('policy').description('policy files: validate them as the server does');
  policy.command('validate').description("check policy files and identity-providers.json as the server does, and fetch page layouts given by URL; every problem names the file and the JSON path")
    .argument('[files...]', 'the files to check (default: every policy and identity-providers.json under LATCHKEY_POLICIES_DIR)')
    .action(run(async (ctx, _o, given) => {
      const files = given.length > 0 ? given.map((f) => resolve(f)) : allFiles(ctx.config.policiesDir);
      const problems: PolicyProblem[] = [];
      const valid: string[] = [];
      const logger = pino({ level: 'silent' });
      // Templates are fetched as the server fetches them: the same address policy (LATCHKEY_OUTBOUND_ALLOW).
      const outbound = new OutboundClient({ policy: new AddressPolicy(ctx.config.outboundAllow), logger });
      const layouts = new PageLayouts({ policiesDir: ctx.config.policiesDir, baseUrl: ctx.config.baseUrl, logger, clock: systemClock, outbound });
      // Tenant secrets are looked up in the database, when there is one (validating never creates it).
      const haveDatabase = ctx.config.databaseUrl !== undefined || existsSync(ctx.config.dbPath);
      const secretProblem: SecretCheck = async (slug, ref) => {
        if (!haveDatabase) return undefined;
        const d = await ctx.deps();
        const tenant = await d.store.findTenant(slug);
        return tenant ? secretRefProblem(d, tenant.id, ref) : `the folder names no tenant ('${slug}'), so its tenant secret '${'secret' in ref ? ref.secret : ''}' cannot be found`;
      };
      // The host pattern gives every tenant a host of its own; custom domains are in the database.
      const ownHost: OwnHostCheck = async (slug) => {
        if (ctx.config.tenantHostPattern) return true;
        if (!haveDatabase) return false;
        const d = await ctx.deps();
        const tenant = await d.store.findTenant(slug);
        return tenant ? tenantHasOwnHost(d, ctx.config, tenant.id) : false;
      };
      for (const file of files) {
        const found = await validate(file, layouts, secretProblem, ownHost);
        if (found.length > 0) problems.push(...found);
        else valid.push(file);
      }
      if (ctx.json) ctx.printJson({ valid, problems });
      else {
        for (const p of problems) ctx.print(formatProblem(p));
        ctx.print(`${valid.length} valid, ${files.length - valid.length} invalid`);
      }
      if (problems.length > 0) process.exitCode = 1;
    }));
}
