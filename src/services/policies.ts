import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { IDENTITY_PROVIDERS_FILE, loadIdentityProviders, type IdentityProvider } from '../federation/config.js';
import { LOCALES } from '../model/messages/messages.js';
import { CULTURE, templateLocation } from '../model/page-layout.js';
import { templateProblem } from '../ui/layouts/sanitize.js';
import { policySchema, type Policy } from '../model/policy.js';
import type { SecretRef } from '../model/secret-ref.js';

/** A validation problem: which file, where in it (JSON path), and why. */
export interface PolicyProblem {
  file: string;
  path: string;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}: ${p.path}: ${p.message}`;
}

export function isPolicyFile(name: string): boolean {
  return name.endsWith('.json') && name !== IDENTITY_PROVIDERS_FILE && !name.startsWith('.');
}

function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
}

/** What a policy is checked against besides its own file: the tenant it belongs to. */
export interface TenantContext {
  /** The identity providers the tenant configures (identity-providers.json). */
  providers: ReadonlyMap<string, IdentityProvider>;
  /** The tenant's policy folder (page layouts given as files are read from it). */
  folder?: string;
  /**
   * The tenant is served on a host of its own (a custom domain, or LATCHKEY_TENANT_HOST_PATTERN), so its
   * page layouts may run JavaScript (on that host only: the shared host's pages drop the scripts).
   */
  hasOwnHost?: boolean;
}

/**
 * Why `javaScript: true` is refused on the shared host: every tenant's pages are served from one origin,
 * so a script in one tenant's layout could open another tenant's sign-in (in a same-origin popup or
 * frame) and read its answer — codes and tokens of users who merely opened the first tenant's page.
 */
export const LAYOUT_SCRIPT_REFUSED =
  "template JavaScript is available only for a tenant served on its own host (a custom domain, `latchkey tenant domain add`, or LATCHKEY_TENANT_HOST_PATTERN): on the shared host all tenants' pages share one origin, so a page script could act in other tenants' pages (open their sign-in and read the answer). Leave javaScript out or set it to false";

/** The tenant of a policy file is its folder; an invalid identity-providers.json counts as no providers. */
export function tenantContextFor(folder: string): TenantContext {
  const loaded = loadIdentityProviders(folder);
  return { providers: 'providers' in loaded ? loaded.providers : new Map(), folder };
}

/** Kinds whose journeys offer identity providers (sign-up and password reset are local-account journeys). */
const FEDERATING_KINDS = new Set<Policy['kind']>(['signIn', 'signUpOrSignIn', 'profileEdit']);

/** Rules that need the tenant: every identity provider a policy offers must exist. */
function checkAgainstTenant(file: string, policy: Policy, ctx: TenantContext): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  policy.identityProviders.forEach((id, i) => {
    if (id === 'local') return;
    if (!ctx.providers.has(id)) {
      const known = ['local', ...ctx.providers.keys()].map((k) => `'${k}'`).join(', ');
      problems.push({ file, path: `$.identityProviders[${i}]`, message: `'${id}' names no identity provider configured for this tenant (configured: ${known}; see ${IDENTITY_PROVIDERS_FILE})` });
    } else if (!FEDERATING_KINDS.has(policy.kind)) {
      problems.push({ file, path: `$.identityProviders[${i}]`, message: `a ${policy.kind} policy runs with local accounts only; offer '${id}' in a signIn, signUpOrSignIn or profileEdit policy` });
    }
  });
  if (!ctx.hasOwnHost) {
    for (const [type, layout] of Object.entries(policy.ui.pageLayouts ?? {})) {
      if (layout?.javaScript) problems.push({ file, path: `$.ui.pageLayouts.${type}.javaScript`, message: LAYOUT_SCRIPT_REFUSED });
    }
  }
  if (ctx.folder) problems.push(...checkFileLayouts(file, policy, ctx.folder));
  problems.push(...checkConnectorSecrets(file, policy));
  return problems;
}

/** Every secret a policy names, with its JSON path (the connectors' `auth`). */
export function policySecretRefs(policy: Policy): { path: string; ref: SecretRef }[] {
  const refs: { path: string; ref: SecretRef }[] = [];
  for (const [step, connector] of Object.entries(policy.apiConnectors)) {
    if (!connector) continue;
    const a = connector.auth;
    const fields: [string, SecretRef | undefined][] =
      a.type === 'basic' ? [['password', a.password]] : a.type === 'bearer' ? [['token', a.token]] : [['pfx', a.pfx], ['passphrase', a.passphrase]];
    for (const [field, ref] of fields) if (ref) refs.push({ path: `$.apiConnectors.${step}.auth.${field}`, ref });
  }
  return refs;
}

/**
 * An API connector's environment variables must be set (a connector that cannot authenticate would fail
 * every sign-up). Tenant secrets are looked up in the database: the admin API's policy write and
 * `latchkey policy validate` check those.
 */
function checkConnectorSecrets(file: string, policy: Policy, env: NodeJS.ProcessEnv = process.env): PolicyProblem[] {
  return policySecretRefs(policy)
    .filter(({ ref }) => 'env' in ref && !env[ref.env])
    .map(({ path, ref }) => ({ file, path, message: `the environment variable ${(ref as { env: string }).env} is not set` }));
}

/**
 * Page layouts given as files must be there and be servable (`<div id="api">`, nothing the sanitizer
 * refuses). URL templates are fetched by `latchkey policy validate`; at run time one that cannot be had
 * falls back to the default layout.
 * With `{Culture:RFC5646}` in the path, at least one language's file must exist.
 */
function checkFileLayouts(file: string, policy: Policy, folder: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const [type, layout] of Object.entries(policy.ui.pageLayouts ?? {})) {
    if (!layout || templateLocation(layout.template, 'en').kind !== 'file') continue;
    const path = `$.ui.pageLayouts.${type}`;
    const candidates = layout.template.includes(CULTURE) ? LOCALES.map((l) => layout.template.replaceAll(CULTURE, l)) : [layout.template];
    const present = candidates.filter((c) => existsSync(join(folder, c)));
    if (present.length === 0) {
      problems.push({ file, path, message: `${layout.template}: no such file in ${folder}` });
      continue;
    }
    for (const c of present) {
      const problem = templateProblem(readFileSync(join(folder, c), 'utf8'), layout.javaScript);
      if (problem) problems.push({ file, path, message: `${c}: ${problem}` });
    }
  }
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
  return validatePolicyText(file, text, tenant);
}

/** The file watcher's checks on a policy's text as it would be saved at `file` (the admin API writes only what passes). */
export function validatePolicyText(file: string, text: string, tenant: TenantContext = tenantContextFor(dirname(file))): { policy: Policy } | { problems: PolicyProblem[] } {
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
  /** The last good identity providers (identity-providers.json). */
  providers: Map<string, IdentityProvider>;
  watcher?: FSWatcher;
  /** When the folder was last found missing (it is looked for again a second later). */
  missingAt?: number;
}

/**
 * Loads each tenant's identity providers and policies from `{dir}/{slug}/` on first use and keeps them
 * current: the folder is watched and a changed file is validated and swapped in; an invalid file keeps
 * the last good version and the problem is logged with file and JSON path. A change to the identity
 * providers validates the tenant's policies again (a policy may name a provider that came or went).
 */
export class PolicyRegistry {
  private readonly tenants = new Map<string, TenantPolicies>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly watchFiles = true,
    /** Whether a tenant (by slug) is served on a host of its own: its layouts may then run JavaScript. */
    private readonly ownHost: (slug: string) => boolean = () => false,
  ) {}

  /**
   * Validates a tenant's policies again (it gained or lost a host of its own): a policy refused for its
   * layout's JavaScript may be valid now; one that is not any more keeps its last good version, as an
   * edited file does, and the shared host's pages drop its scripts all the same.
   */
  revalidate(slug: string): void {
    const t = this.tenants.get(slug);
    const folder = join(this.dir, slug);
    if (!t || t.missingAt !== undefined || !existsSync(folder)) return;
    this.logger.info({ tenant: slug, ownHost: this.ownHost(slug) }, 'policies validated again: the tenant gained or lost a host of its own');
    this.reloadAll(t, slug, folder);
  }

  /**
   * Reads a tenant's identity providers and policies again now, rather than when the watcher next
   * notices: a file written through the admin API or the console is live in this instance at once
   * (other instances pick it up by watching). An invalid file keeps its last good version, as ever.
   */
  reload(slug: string): void {
    const t = this.tenant(slug);
    const folder = join(this.dir, slug);
    if (t.missingAt !== undefined || !existsSync(folder)) return;
    this.loadProviders(t, folder);
    this.reloadAll(t, slug, folder);
  }

  private reloadAll(t: TenantPolicies, slug: string, folder: string): void {
    const names = new Set([...t.byFile.keys(), ...readdirSync(folder).filter(isPolicyFile)]);
    for (const n of [...names].sort()) this.loadFile(t, slug, folder, n);
  }

  get(slug: string, policyId: string): Policy | undefined {
    return this.tenant(slug).byId.get(policyId.toLowerCase());
  }

  list(slug: string): Policy[] {
    return [...this.tenant(slug).byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The tenant's identity providers (the last valid identity-providers.json). */
  providers(slug: string): ReadonlyMap<string, IdentityProvider> {
    return this.tenant(slug).providers;
  }

  close(): void {
    for (const t of this.tenants.values()) t.watcher?.close();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.tenants.clear();
  }

  private tenant(slug: string): TenantPolicies {
    let t = this.tenants.get(slug);
    // A folder that was missing may have appeared since (another instance created the tenant).
    if (t?.missingAt !== undefined && Date.now() - t.missingAt >= 1000) t = undefined;
    if (!t) {
      t = { byId: new Map(), byFile: new Map(), providers: new Map() };
      const folder = join(this.dir, slug);
      if (existsSync(folder)) {
        this.loadProviders(t, folder);
        for (const name of readdirSync(folder).filter(isPolicyFile).sort()) this.loadFile(t, slug, folder, name);
        if (this.watchFiles) this.watch(t, slug, folder);
      } else {
        if (!this.tenants.has(slug)) this.logger.warn({ tenant: slug, folder }, 'tenant has no policy folder');
        t.missingAt = Date.now();
      }
      this.tenants.set(slug, t);
    }
    return t;
  }

  private watch(t: TenantPolicies, slug: string, folder: string): void {
    try {
      t.watcher = watch(folder, (_event, name) => {
        if (!name || (!isPolicyFile(name) && name !== IDENTITY_PROVIDERS_FILE)) return;
        // Editors write in several steps; wait for the file to settle.
        const key = `${slug}/${name}`;
        clearTimeout(this.timers.get(key));
        this.timers.set(
          key,
          setTimeout(() => {
            this.timers.delete(key);
            if (name === IDENTITY_PROVIDERS_FILE) {
              // Policies refused for naming a provider may be valid now, and the other way round.
              if (this.loadProviders(t, folder)) this.reloadAll(t, slug, folder);
            } else {
              this.loadFile(t, slug, folder, name);
            }
          }, 50),
        );
      });
      t.watcher.on('error', (err) => this.logger.warn({ err, folder }, 'policy folder watch failed'));
    } catch (err) {
      this.logger.warn({ err, folder }, 'cannot watch the policy folder; changes need a restart');
    }
  }

  /** Loads identity-providers.json; false when it is invalid (the last good providers stay). */
  private loadProviders(t: TenantPolicies, folder: string): boolean {
    const result = loadIdentityProviders(folder);
    if ('problems' in result) {
      for (const p of result.problems) {
        this.logger.error({ file: p.file, path: p.path, reason: p.message }, `invalid identity providers, keeping the last good version: ${formatProblem(p)}`);
      }
      return false;
    }
    t.providers = result.providers;
    if (result.providers.size > 0) this.logger.info({ folder, providers: [...result.providers.keys()] }, 'identity providers loaded');
    return true;
  }

  private loadFile(t: TenantPolicies, slug: string, folder: string, name: string): void {
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
    const result = validatePolicyFile(file, { providers: t.providers, folder, hasOwnHost: this.ownHost(slug) });
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
