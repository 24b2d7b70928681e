import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { policySchema, type Policy } from './policy-schema.js';

/** A validation problem: which file, where in it (JSON path), and why. */
export interface PolicyProblem {
  file: string;
  path: string;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}: ${p.path}: ${p.message}`;
}

/** Files in a tenant's policy folder that are not policies. */
const NON_POLICY_FILES = new Set(['identity-providers.json']);

export function isPolicyFile(name: string): boolean {
  return name.endsWith('.json') && !NON_POLICY_FILES.has(name) && !name.startsWith('.');
}

function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
}

/** What a policy is checked against besides its own file: the tenant it belongs to. */
export interface TenantContext {
  /** Ids of the identity providers the tenant configures (identity-providers.json). */
  providerIds: ReadonlySet<string>;
}

/** The tenant of a policy file: its folder. Federation is not built yet, so no provider is configured. */
export function tenantContextFor(_folder: string): TenantContext {
  return { providerIds: new Set() };
}

/** Rules that need the tenant: every identity provider a policy offers must exist. */
function checkAgainstTenant(file: string, policy: Policy, ctx: TenantContext): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  policy.identityProviders.forEach((id, i) => {
    if (id !== 'local' && !ctx.providerIds.has(id)) {
      problems.push({ file, path: `$.identityProviders[${i}]`, message: `'${id}' names no identity provider configured for this tenant (only 'local' is available)` });
    }
  });
  return problems;
}

/** Reads and validates one policy file; the same check the server and `latchkey policy validate` run. */
export function validatePolicyFile(file: string, tenant: TenantContext = tenantContextFor(dirname(file))): { policy: Policy } | { problems: PolicyProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, path: '$', message: `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problems: [{ file, path: '$', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  const parsed = policySchema.safeParse(json);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => ({ file, path: jsonPath(i.path), message: i.message })) };
  }
  const expected = basename(file, '.json');
  if (expected.toLowerCase() !== parsed.data.id.toLowerCase()) {
    return { problems: [{ file, path: '$.id', message: `must match the file name (${expected})` }] };
  }
  const problems = checkAgainstTenant(file, parsed.data, tenant);
  return problems.length > 0 ? { problems } : { policy: parsed.data };
}

interface TenantPolicies {
  /** Policies by lower-cased id: ids are case-insensitive. */
  byId: Map<string, Policy>;
  /** Last good policy per file, so an invalid edit keeps the previous version live. */
  byFile: Map<string, Policy>;
  watcher?: FSWatcher;
}

/**
 * Loads each tenant's policies from `{dir}/{slug}/` on first use and keeps them current: the folder
 * is watched and a changed file is validated and swapped in; an invalid file keeps the last good
 * version and the problem is logged with file and JSON path.
 */
export class PolicyRegistry {
  private readonly tenants = new Map<string, TenantPolicies>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly watchFiles = true,
  ) {}

  get(slug: string, policyId: string): Policy | undefined {
    return this.tenant(slug).byId.get(policyId.toLowerCase());
  }

  list(slug: string): Policy[] {
    return [...this.tenant(slug).byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  close(): void {
    for (const t of this.tenants.values()) t.watcher?.close();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.tenants.clear();
  }

  private tenant(slug: string): TenantPolicies {
    let t = this.tenants.get(slug);
    if (!t) {
      t = { byId: new Map(), byFile: new Map() };
      this.tenants.set(slug, t);
      const folder = join(this.dir, slug);
      if (existsSync(folder)) {
        for (const name of readdirSync(folder).filter(isPolicyFile).sort()) this.loadFile(t, folder, name);
        if (this.watchFiles) this.watch(t, slug, folder);
      } else {
        this.logger.warn({ tenant: slug, folder }, 'tenant has no policy folder');
      }
    }
    return t;
  }

  private watch(t: TenantPolicies, slug: string, folder: string): void {
    try {
      t.watcher = watch(folder, (_event, name) => {
        if (!name || !isPolicyFile(name)) return;
        // Editors write in several steps; wait for the file to settle.
        const key = `${slug}/${name}`;
        clearTimeout(this.timers.get(key));
        this.timers.set(
          key,
          setTimeout(() => {
            this.timers.delete(key);
            this.loadFile(t, folder, name);
          }, 50),
        );
      });
      t.watcher.on('error', (err) => this.logger.warn({ err, folder }, 'policy folder watch failed'));
    } catch (err) {
      this.logger.warn({ err, folder }, 'cannot watch the policy folder; changes need a restart');
    }
  }

  private loadFile(t: TenantPolicies, folder: string, name: string): void {
    const file = join(folder, name);
    if (!existsSync(file)) {
      const gone = t.byFile.get(name);
      if (gone) {
        t.byFile.delete(name);
        t.byId.delete(gone.id.toLowerCase());
        this.logger.info({ file, policy: gone.id }, 'policy removed');
      }
      return;
    }
    const result = validatePolicyFile(file);
    if ('problems' in result) {
      for (const p of result.problems) {
        this.logger.error({ file: p.file, path: p.path, reason: p.message }, `invalid policy, keeping the last good version: ${formatProblem(p)}`);
      }
      return;
    }
    const previous = t.byFile.get(name);
    if (previous && previous.id.toLowerCase() !== result.policy.id.toLowerCase()) t.byId.delete(previous.id.toLowerCase());
    t.byFile.set(name, result.policy);
    t.byId.set(result.policy.id.toLowerCase(), result.policy);
    this.logger.info({ file, policy: result.policy.id }, previous ? 'policy reloaded' : 'policy loaded');
  }
}
