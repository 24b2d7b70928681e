import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Password hashing with scrypt (memory-hard). Hashes run on a small pool of worker threads that
 * lower their own scheduling priority (on Linux the nice value is per thread), so a sign-in in progress
 * takes CPU only when the token endpoint's RSA signing on libuv's pool does not need it, and never
 * occupies a libuv thread. The parameters are stored with each hash, so the cost can be raised without
 * invalidating old hashes. Format: `scrypt$<log2N>$<r>$<p>$<salt>$<hash>` (base64url).
 *
 * Hashes moved from other systems are verified too, on the same threads, and replaced by Latchkey's own
 * after the first successful sign-in (`needsRehash`): bcrypt (`$2a$`/`$2b$`/`$2y$`), argon2
 * (`$argon2id$…`, PHC), scrypt in PHC form (`$scrypt$ln=…`), and PBKDF2 with SHA-1/256/512, stored as
 * `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url; foreign-hashes.ts converts Keycloak's and PHC forms).
 */
const R = 8;
const P = 1;
const KEYLEN = 32;

/** hash-wasm (WebAssembly bcrypt and argon2) is loaded in the workers by path: they are plain scripts. */
const HASH_WASM = createRequire(import.meta.url).resolve('hash-wasm');

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { scryptSync, pbkdf2Sync } = require('node:crypto');
let wasm;
try { require('node:os').setPriority(0, 15); } catch {}
parentPort.on('message', async (m) => {
  try {
    let result;
    switch (m.kind) {
      case 'scrypt':
        result = scryptSync(m.password, Buffer.from(m.salt, 'base64url'), m.keylen, { N: m.N, r: m.r, p: m.p, maxmem: m.maxmem }).toString('base64url');
        break;
      case 'pbkdf2':
        result = pbkdf2Sync(m.password, Buffer.from(m.salt, 'base64url'), m.iterations, m.keylen, m.digest).toString('base64url');
        break;
      case 'bcrypt':
        wasm ??= require(workerData.hashWasm);
        result = await wasm.bcryptVerify({ password: m.password, hash: m.hash });
        break;
      case 'argon2':
        wasm ??= require(workerData.hashWasm);
        result = await wasm.argon2Verify({ password: m.password, hash: m.hash });
        break;
      default:
        throw new Error('unknown job ' + m.kind);
    }
    parentPort.postMessage({ id: m.id, result });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});`;

type JobInput =
  | { kind: 'scrypt'; password: string; salt: string; N: number; r: number; p: number; keylen: number; maxmem: number }
  | { kind: 'pbkdf2'; password: string; salt: string; iterations: number; keylen: number; digest: string }
  | { kind: 'bcrypt' | 'argon2'; password: string; hash: string };
type Job = JobInput & { id: number };
type Settle = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class HashPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: { job: Job; settle: Settle }[] = [];
  private readonly running = new Map<number, Settle & { worker: Worker }>();
  private started = false;
  private nextId = 1;

  private start(): void {
    this.started = true;
    for (let i = 0; i < Math.max(1, availableParallelism()); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasm: HASH_WASM } });
      w.unref();
      w.on('message', (m: { id: number; result?: unknown; error?: string }) => {
        const r = this.running.get(m.id);
        this.running.delete(m.id);
        this.release(w);
        if (!r) return;
        if (m.error === undefined) r.resolve(m.result);
        else r.reject(new Error(m.error));
      });
      w.on('error', (err) => {
        for (const [id, r] of this.running) if (r.worker === w) (this.running.delete(id), r.reject(err));
      });
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) this.dispatch(w, next.job, next.settle);
    else {
      w.unref();
      this.idle.push(w);
    }
  }

  private dispatch(w: Worker, job: Job, settle: Settle): void {
    this.running.set(job.id, { ...settle, worker: w });
    w.ref(); // keep the process up while a hash is running
    w.postMessage(job);
  }

  run<T>(input: JobInput): Promise<T> {
    if (!this.started) this.start();
    const job = { ...input, id: this.nextId++ } as Job;
    return new Promise<T>((resolve, reject) => {
      const settle: Settle = { resolve: resolve as (v: unknown) => void, reject };
      const w = this.idle.pop();
      if (w) this.dispatch(w, job, settle);
      else this.waiting.push({ job, settle });
    });
  }

  derive(password: string, salt: Buffer, logN: number, r: number, p: number, normalize = true): Promise<Buffer> {
    const N = 2 ** logN;
    return this.run<string>({
      kind: 'scrypt',
      password: normalize ? password.normalize('NFKC') : password,
      salt: salt.toString('base64url'),
      N,
      r,
      p,
      keylen: KEYLEN,
      maxmem: 128 * N * r * p + 16 * 1024 * 1024,
    }).then((k) => Buffer.from(k, 'base64url'));
  }
}

/**
 * One pool per process, on purpose: it is a set of threads (like libuv's own pool), not state with
 * meaning, and two app instances in one process sharing it only share CPU.
 */
const pool = new HashPool();

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await pool.derive(password, salt, logN, R, P);
  return `scrypt$${logN}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Standard or URL-safe base64, with or without padding, as other systems write it ('.' for '+' in PHC's adapted form). */
export function looseBase64(text: string): Buffer {
  return Buffer.from(text.replace(/\./g, '+').replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

const PBKDF2_DIGESTS: Record<string, string> = { 'pbkdf2-sha1': 'sha1', 'pbkdf2-sha256': 'sha256', 'pbkdf2-sha512': 'sha512' };

/**
 * The most a stored hash may cost to check. Imported hashes carry their own parameters, so without a
 * bound one row of an import file (`$scrypt$ln=40…`, bcrypt cost 31, argon2 with 4 GiB) could hold a
 * worker thread for minutes or exhaust memory at every sign-in attempt. No hash may cost more than the
 * most Latchkey itself can be configured to (scrypt log2 N 20, r 8), and the other formats are held to
 * comparable bounds.
 */
export const HASH_LIMITS = { scryptWork: 2 ** 20 * 8, scryptMemoryBytes: 1024 * 1024 * 1024, bcryptCost: 14, argon2MemoryKiB: 256 * 1024, argon2Time: 16, argon2Parallelism: 16, pbkdf2Iterations: 2_000_000 } as const;

/** Why a stored (or imported) hash costs more than HASH_LIMITS allow, or undefined when it does not. */
export function hashCostProblem(stored: string): string | undefined {
  const scrypt = (logN: number, r: number, p: number) =>
    !(logN >= 1 && r >= 1 && p >= 1) ? 'scrypt parameters out of range'
    : 2 ** logN * r * p > HASH_LIMITS.scryptWork || 128 * 2 ** logN * r > HASH_LIMITS.scryptMemoryBytes ? `scrypt ln=${logN},r=${r},p=${p} costs more than Latchkey allows (N·r·p at most 2^23)`
    : undefined;
  if (stored.startsWith('scrypt$')) {
    const [, logN, r, p] = stored.split('$');
    return scrypt(Number(logN), Number(r), Number(p));
  }
  const bcrypt = /^\$2[aby]\$(\d\d)\$/.exec(stored);
  if (bcrypt) return Number(bcrypt[1]) > HASH_LIMITS.bcryptCost ? `bcrypt cost ${bcrypt[1]} is more than ${HASH_LIMITS.bcryptCost}` : undefined;
  const argon2 = /^\$argon2(?:id|i|d)\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  if (argon2) {
    const [m, t, p] = [Number(argon2[1]), Number(argon2[2]), Number(argon2[3])];
    if (m > HASH_LIMITS.argon2MemoryKiB || t > HASH_LIMITS.argon2Time || p > HASH_LIMITS.argon2Parallelism || t < 1 || p < 1) {
      return `argon2 m=${m},t=${t},p=${p} costs more than Latchkey allows (m at most ${HASH_LIMITS.argon2MemoryKiB} KiB, t ${HASH_LIMITS.argon2Time}, p ${HASH_LIMITS.argon2Parallelism})`;
    }
    return undefined;
  }
  const phcScrypt = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$/.exec(stored);
  if (phcScrypt) return scrypt(Number(phcScrypt[1]), Number(phcScrypt[2]), Number(phcScrypt[3]));
  const pbkdf2 = /^pbkdf2-sha(?:1|256|512)\$(\d+)\$/.exec(stored);
  if (pbkdf2) return Number(pbkdf2[1]) > HASH_LIMITS.pbkdf2Iterations ? `PBKDF2 with ${pbkdf2[1]} iterations is more than ${HASH_LIMITS.pbkdf2Iterations.toLocaleString('en')}` : undefined;
  return undefined;
}

/** Verifies a password against a stored hash of any supported format; an unknown format never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  // A hash over the limits is never computed (one imported before the limits, or written by hand).
  if (hashCostProblem(stored) !== undefined) return false;
  if (stored.startsWith('scrypt$')) {
    const parts = stored.split('$');
    if (parts.length !== 6) return false;
    const [, logN, r, p, salt, hash] = parts as [string, string, string, string, string, string];
    const key = await pool.derive(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
    return sameBytes(key, Buffer.from(hash, 'base64url'));
  }
  if (/^\$2[aby]\$\d\d\$/.test(stored)) return pool.run<boolean>({ kind: 'bcrypt', password, hash: stored });
  if (/^\$argon2(id|i|d)\$/.test(stored)) return pool.run<boolean>({ kind: 'argon2', password, hash: stored });
  const phcScrypt = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (phcScrypt) {
    const [, ln, r, p, salt, hash] = phcScrypt as unknown as [string, string, string, string, string, string];
    const expected = looseBase64(hash);
    const N = 2 ** Number(ln);
    const key = await pool.run<string>({ kind: 'scrypt', password, salt: looseBase64(salt).toString('base64url'), N, r: Number(r), p: Number(p), keylen: expected.length, maxmem: 128 * N * Number(r) * Number(p) + 16 * 1024 * 1024 });
    return sameBytes(Buffer.from(key, 'base64url'), expected);
  }
  const pbkdf2 = /^(pbkdf2-sha1|pbkdf2-sha256|pbkdf2-sha512)\$(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (pbkdf2) {
    const [, algorithm, iterations, salt, hash] = pbkdf2 as unknown as [string, string, string, string, string];
    const expected = Buffer.from(hash, 'base64url');
    const key = await pool.run<string>({ kind: 'pbkdf2', password, salt, iterations: Number(iterations), keylen: expected.length, digest: PBKDF2_DIGESTS[algorithm]! });
    return sameBytes(Buffer.from(key, 'base64url'), expected);
  }
  return false;
}

/** True when a stored hash should be replaced by Latchkey's own at this cost (after a successful sign-in). */
export function needsRehash(stored: string, logN: number): boolean {
  if (!stored.startsWith('scrypt$')) return true;
  const parts = stored.split('$');
  return Number(parts[1]) < logN || Number(parts[2]) !== R || Number(parts[3]) !== P;
}

/**
 * An app instance's password hashing at its configured cost. Sign-in verifies against a hash of a
 * random password when the account does not exist (or has no password), so it takes the same time
 * whether or not the email is registered; that dummy hash is made once per instance.
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(readonly cost: number) {}

  hash(password: string): Promise<string> {
    return hashPassword(password, this.cost);
  }

  /** Verifies `password` against `stored`, or against the dummy hash (always false) when there is none. */
  async verify(password: string, stored: string | null | undefined): Promise<boolean> {
    if (stored) return verifyPassword(password, stored);
    this.dummy ??= hashPassword(randomBytes(16).toString('hex'), this.cost);
    await verifyPassword(password, await this.dummy);
    return false;
  }

  /** Whether a hash that just verified should be replaced (a foreign format, or a lower cost). */
  needsRehash(stored: string): boolean {
    return needsRehash(stored, this.cost);
  }
}
