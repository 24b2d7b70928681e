import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IDENTITY_PROVIDERS_FILE, validateIdentityProvidersText } from '../federation/config.js';
import type { Tenant } from '../model/entities.js';
import { notFound } from '../model/errors.js';
import { envReferences, type SecretRef } from '../model/secret-ref.js';
import type { Deps } from './deps.js';
import { policySecretRefs, tenantContextFor, validatePolicyText } from './policies.js';
import { tenantHasOwnHost } from './tenant-domains.js';
import { secretRefProblem } from './tenant-secrets.js';

/**
 * A tenant's policy and identity-provider files written by its administrator over HTTP (the admin API,
 * the web console): the file watcher's checks, and what an administrator may not do that the operator
 * may — name the server's environment (a secret goes in as a tenant secret), or a tenant secret that is
 * not set. Only a file that passes is written (whole, then renamed: the watcher never sees half a file).
 */
export interface FileProblem {
  /** JSON path (`$.tokens.idTokenMinutes`). */
  path: string;
  message: string;
}

type FileDeps = Pick<Deps, 'config' | 'store' | 'policies' | 'audit'>;

/** How the surface tells its administrator to store a secret ("PUT /admin/v1/tenants/t/secrets/{name}"). */
export type SecretHint = string;

function refusedEnv(json: unknown, hint: SecretHint): FileProblem[] {
  return envReferences(json).map((path) => ({
    path,
    message: `names an environment variable of the server, which only the operator's files may do; store the value as a tenant secret (${hint}) and name it { "secret": "{name}" }`,
  }));
}

async function missingSecrets(d: Pick<Deps, 'store'>, tenant: Tenant, refs: { path: string; ref: SecretRef }[]): Promise<FileProblem[]> {
  const missing: FileProblem[] = [];
  for (const { path, ref } of refs) {
    const problem = await secretRefProblem(d, tenant.id, ref);
    if (problem) missing.push({ path, message: problem });
  }
  return missing;
}

export function policyFile(d: Pick<Deps, 'config'>, tenant: Tenant, policyId: string): string {
  return join(d.config.policiesDir, tenant.slug, `${policyId}.json`);
}

/** A loaded policy's file as it is on disk. */
export function readPolicyText(d: Pick<Deps, 'config' | 'policies'>, tenant: Tenant, policyId: string): { id: string; text: string } {
  const policy = d.policies.get(tenant.slug, policyId);
  if (!policy) throw notFound(`No policy '${policyId}' is loaded.`);
  return { id: policy.id, text: readFileSync(policyFile(d, tenant, policy.id), 'utf8') };
}

/** A file's text as JSON, or why it cannot be saved at all: not JSON, or naming the server's environment. */
function parsedText(text: string, hint: SecretHint): { json: unknown } | { problems: FileProblem[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problems: [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  const env = refusedEnv(json, hint);
  return env.length > 0 ? { problems: env } : { json };
}

/** What keeps a policy's text from being saved (none: it may be). */
export async function policyWriteProblems(d: FileDeps, tenant: Tenant, policyId: string, text: string, hint: SecretHint): Promise<FileProblem[]> {
  const parsed = parsedText(text, hint);
  if ('problems' in parsed) return parsed.problems;
  // Layout JavaScript is for a tenant on a host of its own (its custom domains as stored now).
  const file = policyFile(d, tenant, policyId);
  const r = validatePolicyText(file, text, { ...tenantContextFor(dirname(file)), hasOwnHost: await tenantHasOwnHost(d, d.config, tenant.id) });
  if ('problems' in r) return r.problems.map((p) => ({ path: p.path, message: p.message }));
  return missingSecrets(d, tenant, policySecretRefs(r.policy));
}

/**
 * Saves a policy that passes the checks and makes it live in this instance at once (others pick the
 * file up by watching it); one that does not is left unwritten and its problems returned.
 */
export async function writePolicy(d: FileDeps, tenant: Tenant, policyId: string, text: string, hint: SecretHint, audit: { clientId?: string } = {}): Promise<FileProblem[]> {
  const problems = await policyWriteProblems(d, tenant, policyId, text, hint);
  if (problems.length > 0) return problems;
  writeWhole(policyFile(d, tenant, policyId), text.endsWith('\n') ? text : `${text}\n`);
  d.policies.reload(tenant.slug);
  await d.audit.record({ tenantId: tenant.id, event: 'policy_written', outcome: 'success', ...(audit.clientId ? { clientId: audit.clientId } : {}), detail: policyId });
  return [];
}

function providersFile(d: Pick<Deps, 'config'>, tenant: Tenant): string {
  return join(d.config.policiesDir, tenant.slug, IDENTITY_PROVIDERS_FILE);
}

/** The tenant's identity-providers.json as it is on disk (an empty list when there is none). */
export function readIdentityProvidersText(d: Pick<Deps, 'config'>, tenant: Tenant): string {
  const file = providersFile(d, tenant);
  return existsSync(file) ? readFileSync(file, 'utf8') : '{\n  "providers": []\n}\n';
}

/** Every `{ "secret": NAME }` in a JSON document, with its path. */
function secretReferences(json: unknown, path = '$'): { path: string; ref: SecretRef }[] {
  if (Array.isArray(json)) return json.flatMap((v, i) => secretReferences(v, `${path}[${i}]`));
  if (json === null || typeof json !== 'object') return [];
  const o = json as Record<string, unknown>;
  if (typeof o.secret === 'string' && Object.keys(o).length === 1) return [{ path, ref: { secret: o.secret } }];
  return Object.entries(o).flatMap(([k, v]) => secretReferences(v, `${path}.${k}`));
}

/** What keeps an identity-providers.json text from being saved (none: it may be). */
export async function identityProvidersWriteProblems(d: FileDeps, tenant: Tenant, text: string, hint: SecretHint): Promise<FileProblem[]> {
  const parsed = parsedText(text, hint);
  if ('problems' in parsed) return parsed.problems;
  const r = validateIdentityProvidersText(join(d.config.policiesDir, tenant.slug), text);
  if ('problems' in r) return r.problems.map((p) => ({ path: p.path, message: p.message }));
  return missingSecrets(d, tenant, secretReferences(parsed.json));
}

/** Saves identity-providers.json when it passes, and validates the tenant's policies against it at once. */
export async function writeIdentityProviders(d: FileDeps, tenant: Tenant, text: string, hint: SecretHint): Promise<FileProblem[]> {
  const problems = await identityProvidersWriteProblems(d, tenant, text, hint);
  if (problems.length > 0) return problems;
  const file = providersFile(d, tenant);
  mkdirSync(dirname(file), { recursive: true });
  writeWhole(file, text.endsWith('\n') ? text : `${text}\n`);
  d.policies.reload(tenant.slug);
  await d.audit.record({ tenantId: tenant.id, event: 'identity_providers_written', outcome: 'success', detail: IDENTITY_PROVIDERS_FILE });
  return [];
}

function writeWhole(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
