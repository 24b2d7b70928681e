import { invalid } from '../model/errors.js';
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, readSync, statSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ProvisionDeps } from './deps.js';
import { setTenantSettings } from './tenants.js';
import type { ImportedUser, Tenant, User, UserIdentity } from '../model/entities.js';
import { USERS } from '../store/rows.js';
import type { ImportWrite, Store } from '../store/store.js';
import { userFromGraph } from './graph-users.js';

/**
 * `latchkey user import`: Graph-shaped users from JSON Lines, a JSON array, or a Graph list response
 * (`{"value": [...]}`), written in batches of a thousand per transaction. Idempotent: a re-run updates
 * what changed and skips the rest. A row that cannot be imported is counted, and written with its
 * reason to the report file; the others go in.
 */
export interface ImportSummary {
  imported: number;
  updated: number;
  skipped: number;
  failed: number;
  /** The report of failed rows (JSON Lines), when there were any. */
  report?: string;
}

/** What happened to one imported row. */
export type ImportResult = 'created' | 'updated' | 'unchanged' | { failed: string };

const identityKey = (i: UserIdentity): string => `${i.issuer}\n${i.issuerAssignedId}`;

/** Whether storing `next` over `stored` changes nothing but the time of the change (compared as they are stored). */
function sameAsStored(stored: User, next: User): boolean {
  const [a, b] = [USERS.row(stored), USERS.row(next)];
  return USERS.names.every((c) => c === 'updated_at' || a[c] === b[c]);
}

/**
 * The merge rule, for one row and what is stored under its id. A user new here is written as the file
 * has it. One already here takes what the file brings, except that a password the user has here (set
 * or migrated since) is never replaced, attributes are merged (the file's win), the creation time
 * stays, and identities are only added. A row that would change nothing is left alone; the id of
 * another tenant's user is refused.
 */
function mergeImported(row: ImportedUser, stored: ImportedUser | undefined, tenantId: string, now: number): ImportWrite | ImportResult {
  if (!stored) return { user: row.user, exists: false, addIdentities: row.identities };
  if (stored.user.tenantId !== tenantId) return { failed: 'the id belongs to a user of another tenant' };
  const passwordHash = stored.user.passwordHash ?? row.user.passwordHash;
  const user: User = {
    ...row.user,
    passwordHash,
    passwordAtLegacy: passwordHash === null && row.user.signInName !== null,
    attributes: { ...stored.user.attributes, ...row.user.attributes },
    createdAt: stored.user.createdAt,
    updatedAt: now,
  };
  const have = new Set(stored.identities.map(identityKey));
  const addIdentities = row.identities.filter((i) => !have.has(identityKey(i)));
  if (addIdentities.length === 0 && sameAsStored(stored.user, user)) return 'unchanged';
  return { user, exists: true, addIdentities };
}

/**
 * Imports one batch in one transaction: each row merged with what is stored (mergeImported), each
 * written on its own, so one refused (a sign-in name or identity another user has) leaves the others.
 */
export async function importBatch(store: Store, tenantId: string, batch: ImportedUser[], now: number): Promise<ImportResult[]> {
  const results: ImportResult[] = new Array(batch.length);
  let planned: { index: number; write: ImportWrite }[] = [];
  const outcomes = await store.importUsers(
    tenantId,
    batch.map((b) => b.user.id),
    (stored) => {
      const byId = new Map(stored.map((s) => [s.user.id, s]));
      planned = [];
      batch.forEach((row, index) => {
        const merged = mergeImported(row, byId.get(row.user.id), tenantId, now);
        if (typeof merged === 'object' && 'user' in merged) planned.push({ index, write: merged });
        else results[index] = merged;
      });
      return planned.map((p) => p.write);
    },
    now,
  );
  outcomes.forEach((outcome, i) => {
    const { index, write } = planned[i]!;
    if (outcome === 'written') results[index] = write.exists ? 'updated' : 'created';
    else if (outcome === 'identity_taken') results[index] = { failed: 'one of its identities already belongs to another user' };
    else results[index] = { failed: `its sign-in name '${write.user.signInName ?? ''}' already belongs to another user` };
  });
  return results;
}

interface SourceRow {
  line: number;
  row?: unknown;
  /** Set when the row is not JSON. */
  raw?: string;
}

const BATCH = 1000;
/** A file starting with '[' or a Graph list's '{"value"' is one JSON document; otherwise JSON Lines. */
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;

function fileHead(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8').trimStart();
  } finally {
    closeSync(fd);
  }
}

/** A JSON array, or a Graph list response; anything else is read as JSON Lines. */
function isOneDocument(head: string): boolean {
  return head.startsWith('[') || /^\{\s*"(value|@odata\.\w+)"/.test(head);
}

/** Rows of the file, with their line numbers (JSON Lines) or positions (array). */
async function* readRows(file: string): AsyncGenerator<SourceRow> {
  if (isOneDocument(fileHead(file))) {
    if (statSync(file).size > MAX_DOCUMENT_BYTES) throw invalid(`${file} is larger than 1 GiB: give it as JSON Lines (one user per line)`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw invalid(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const rows = Array.isArray(doc) ? doc : (doc as { value?: unknown }).value;
    if (!Array.isArray(rows)) throw invalid(`${file}: expected an array of users or a Graph list ({"value": [...]})`);
    for (const [i, row] of rows.entries()) yield { line: i + 1, row };
    return;
  }
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n += 1;
    if (text.trim() === '') continue;
    try {
      yield { line: n, row: JSON.parse(text) as unknown };
    } catch {
      yield { line: n, raw: text };
    }
  }
}

/** How many rows a progress display counts towards (lines of a JSON Lines file, elements of an array). */
export function countRows(file: string): number | undefined {
  const size = statSync(file).size;
  if (size > 512 * 1024 * 1024) return undefined;
  if (isOneDocument(fileHead(file))) return undefined;
  const text = readFileSync(file, 'utf8');
  let n = 0;
  for (const line of text.split('\n')) if (line.trim() !== '') n += 1;
  return n;
}

export async function importUsers(
  d: ProvisionDeps,
  tenant: Tenant,
  file: string,
  opts: { reportPath: string; onProgress?: (done: number) => void },
): Promise<ImportSummary> {
  try {
    statSync(file);
  } catch {
    throw invalid(`cannot read ${file}`);
  }
  const summary: ImportSummary = { imported: 0, updated: 0, skipped: 0, failed: 0 };
  let report: WriteStream | undefined;
  const fail = (line: number, id: unknown, reason: string, row: unknown) => {
    summary.failed += 1;
    report ??= createWriteStream(opts.reportPath, { encoding: 'utf8' });
    report.write(JSON.stringify({ line, ...(typeof id === 'string' ? { id } : {}), reason, row }) + '\n');
  };
  let extensionsAppId = tenant.extensionsAppId;
  let batch: { line: number; item: ImportedUser; row: unknown }[] = [];
  let done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const results = await importBatch(d.store, tenant.id, batch.map((b) => b.item), d.clock.now());
    results.forEach((r, i) => {
      const b = batch[i]!;
      if (r === 'created') summary.imported += 1;
      else if (r === 'updated') summary.updated += 1;
      else if (r === 'unchanged') summary.skipped += 1;
      else fail(b.line, b.item.user.id, r.failed, b.row);
    });
    done += batch.length;
    batch = [];
    opts.onProgress?.(done + summary.failed);
  };
  const seen = new Set<string>();
  for await (const src of readRows(file)) {
    if (src.raw !== undefined) {
      fail(src.line, undefined, 'not valid JSON', src.raw.slice(0, 2000));
      continue;
    }
    const parsed = userFromGraph(tenant.id, src.row, d.clock.now());
    if ('error' in parsed) {
      fail(src.line, (src.row as { id?: unknown } | null)?.id, parsed.error, src.row);
      continue;
    }
    if (seen.has(parsed.user.user.id)) {
      fail(src.line, parsed.user.user.id, 'the same id appears earlier in the file', src.row);
      continue;
    }
    seen.add(parsed.user.user.id);
    // The first extension attributes seen name the tenant's b2c-extensions-app, for exports and Graph.
    if (parsed.extensionsAppId && !extensionsAppId) {
      extensionsAppId = parsed.extensionsAppId;
      await setTenantSettings(d, tenant, { extensionsAppId });
    }
    batch.push({ line: src.line, item: parsed.user, row: src.row });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  if (report) {
    await new Promise<void>((resolve, reject) => report!.end((err?: Error | null) => (err ? reject(err) : resolve())));
    summary.report = opts.reportPath;
  }
  await d.audit.record({ tenantId: tenant.id, event: 'users_imported', outcome: summary.failed > 0 ? 'failure' : 'success', detail: `${summary.imported} imported, ${summary.updated} updated, ${summary.skipped} skipped, ${summary.failed} failed` });
  return summary;
}
