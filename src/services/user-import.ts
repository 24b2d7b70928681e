import { invalid } from '../model/errors.js';
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, readSync, statSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ProvisionDeps } from './deps.js';
import { setTenantSettings } from './tenants.js';
import type { ImportedUser, Tenant, User, UserIdentity } from '../model/entities.js';
import { hasLocalAccount } from '../model/local-identities.js';
import { USERS } from '../store/rows.js';
import type { ImportWrite, Store } from '../store/store.js';
import { userFromGraph } from './graph-users.js';

/**
 * `latchkey user import`: users as B2C's Microsoft Graph returns them, written in batches of a
 * thousand per transaction. The file may be JSON Lines of users or of Graph list responses (one page a
 * line, as a script paging through `@odata.nextLink` writes them), a JSON array of either, one Graph
 * list response (`{"value": [...]}`), or PowerShell's `Get-MgUser | ConvertTo-Json` (an array, or one
 * object for one user; UTF-16 as Windows PowerShell writes files, or UTF-8). Idempotent: a re-run
 * updates what changed and skips the rest. A row that cannot be imported is counted, and written with
 * its reason to the report file; the others go in.
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
    passwordAtLegacy: passwordHash === null && hasLocalAccount(row.user),
    // A password chosen here since (a hash of its own) already answered a required change.
    mustChangePassword: stored.user.passwordHash !== null ? stored.user.mustChangePassword && hasLocalAccount(row.user) : row.user.mustChangePassword,
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
    else {
      const names = write.user.localIdentities.map((l) => `'${l.issuerAssignedId}'`);
      results[index] = { failed: names.length === 1 ? `its sign-in name ${names[0]} already belongs to another user` : `one of its sign-in names (${names.join(', ')}) already belongs to another user` };
    }
  });
  return results;
}

interface SourceRow {
  /** The line (JSON Lines) or position (one document) of the row, or of the page holding it. */
  line: number;
  /** The row's place in its page, when the line or document is a Graph list response. */
  index?: number;
  row?: unknown;
  /** Set when the row is not JSON, or not what a row may be. */
  raw?: string;
  reason?: string;
}

const BATCH = 1000;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;

/** How the file is encoded: Windows PowerShell writes UTF-16 (with its byte-order mark). */
function encodingOf(file: string): { encoding: BufferEncoding; skip: number } {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(3);
    const n = readSync(fd, buf, 0, 3, 0);
    if (n >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return { encoding: 'utf16le', skip: 2 };
    if (n >= 2 && buf[0] === 0xfe && buf[1] === 0xff) throw invalid(`${file} is UTF-16 big-endian: save it as UTF-8 (or UTF-16 little-endian, as PowerShell writes)`);
    return { encoding: 'utf8', skip: n === 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0 };
  } finally {
    closeSync(fd);
  }
}

/** The first line with anything on it, decoded (a page of a thousand users on one line is read whole; at most 256 MiB). */
function firstLine(file: string, enc: { encoding: BufferEncoding; skip: number }): string {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let at = enc.skip;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      at += n;
      // Decoded only when a line may have ended (a newline byte arrived).
      if (buf.subarray(0, n).includes(0x0a)) {
        const line = Buffer.concat(chunks).toString(enc.encoding).split(/\r?\n/).slice(0, -1).find((l) => l.trim() !== '');
        if (line !== undefined) return line.trim();
      }
      if (at - enc.skip > 256 * 1024 * 1024) break;
    }
    return Buffer.concat(chunks).toString(enc.encoding).trim();
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the file is one JSON document (an array, a Graph list response or PowerShell's output, over
 * many lines) rather than JSON Lines: its first line is not a JSON value of its own.
 */
function isOneDocument(file: string, enc: { encoding: BufferEncoding; skip: number }): boolean {
  const line = firstLine(file, enc);
  if (line.startsWith('[')) return true;
  if (!line.startsWith('{')) return false;
  try {
    JSON.parse(line);
    return false;
  } catch {
    return true;
  }
}

/** A Graph list response (a page: `{"value": [...]}`), as opposed to a user. */
function isPage(v: unknown): v is { value: unknown[] } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as { value?: unknown }).value) && !('id' in v) && !('Id' in v);
}

/** The users of one JSON value at `line`: a user, or a page of users (each with its index in the page). */
function* rowsOf(value: unknown, line: number): Generator<SourceRow> {
  if (isPage(value)) {
    for (const [i, item] of value.value.entries()) yield { line, index: i, row: item };
    return;
  }
  yield { line, row: value };
}

/** Rows of the file, with their line numbers (JSON Lines) or positions (one document). */
async function* readRows(file: string): AsyncGenerator<SourceRow> {
  const enc = encodingOf(file);
  if (isOneDocument(file, enc)) {
    if (statSync(file).size > MAX_DOCUMENT_BYTES) throw invalid(`${file} is larger than 1 GiB: give it as JSON Lines (one user or one Graph page per line)`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file).subarray(enc.skip).toString(enc.encoding));
    } catch (err) {
      throw invalid(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (doc === null || typeof doc !== 'object') throw invalid(`${file}: expected users, a Graph list ({"value": [...]}) or PowerShell's ConvertTo-Json output`);
    // An array of users or pages (each at its position), a page, or one user (PowerShell's output for a single user).
    if (Array.isArray(doc)) for (const [i, item] of doc.entries()) yield* rowsOf(item, i + 1);
    else yield* rowsOf(doc, 1);
    return;
  }
  const input = createReadStream(file, { encoding: enc.encoding, start: enc.skip });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n += 1;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      yield { line: n, raw: text };
      continue;
    }
    if (Array.isArray(value)) {
      yield { line: n, raw: text, reason: 'a JSON array on one line: give one user or one Graph page per line' };
      continue;
    }
    yield* rowsOf(value, n);
  }
}

/** How many rows a progress display counts towards (lines of a JSON Lines file of users). */
export function countRows(file: string): number | undefined {
  const size = statSync(file).size;
  if (size > 512 * 1024 * 1024) return undefined;
  const enc = encodingOf(file);
  if (isOneDocument(file, enc)) return undefined;
  const text = readFileSync(file).subarray(enc.skip).toString(enc.encoding);
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // A page a line: its users are counted as they are read.
    if (/^\s*\{\s*"(@odata\.\w+|value)"/.test(line)) return undefined;
    n += 1;
  }
  return n;
}

/** Where failed rows go unless the operator says: beside the input, `<input>.failed.jsonl`. */
export function defaultReportPath(file: string): string {
  return `${file}.failed.jsonl`;
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
  const fail = (at: { line: number; index?: number }, id: unknown, reason: string, row: unknown) => {
    summary.failed += 1;
    report ??= createWriteStream(opts.reportPath, { encoding: 'utf8' });
    report.write(JSON.stringify({ line: at.line, ...(at.index !== undefined ? { index: at.index } : {}), ...(typeof id === 'string' ? { id } : {}), reason, row }) + '\n');
  };
  let extensionsAppId = tenant.extensionsAppId;
  let batch: { at: SourceRow; item: ImportedUser; row: unknown }[] = [];
  let done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const results = await importBatch(d.store, tenant.id, batch.map((b) => b.item), d.clock.now());
    results.forEach((r, i) => {
      const b = batch[i]!;
      if (r === 'created') summary.imported += 1;
      else if (r === 'updated') summary.updated += 1;
      else if (r === 'unchanged') summary.skipped += 1;
      else fail(b.at, b.item.user.id, r.failed, b.row);
    });
    done += batch.length;
    batch = [];
    opts.onProgress?.(done + summary.failed);
  };
  const seen = new Set<string>();
  for await (const src of readRows(file)) {
    if (src.raw !== undefined) {
      fail(src, undefined, src.reason ?? 'not valid JSON', src.raw.slice(0, 2000));
      continue;
    }
    const parsed = userFromGraph(tenant, src.row, d.clock.now());
    if ('error' in parsed) {
      const row = src.row as { id?: unknown; Id?: unknown } | null;
      fail(src, row?.id ?? row?.Id, parsed.error, src.row);
      continue;
    }
    if (seen.has(parsed.user.user.id)) {
      fail(src, parsed.user.user.id, 'the same id appears earlier in the file', src.row);
      continue;
    }
    seen.add(parsed.user.user.id);
    // The first extension attributes seen name the tenant's b2c-extensions-app, for exports and Graph.
    if (parsed.extensionsAppId && !extensionsAppId) {
      extensionsAppId = parsed.extensionsAppId;
      await setTenantSettings(d, tenant, { extensionsAppId });
    }
    batch.push({ at: src, item: parsed.user, row: src.row });
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
