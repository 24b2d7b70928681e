import { randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Password hashing with scrypt (memory-hard). Hashes run on a small pool of worker threads that
 * lower their own scheduling priority (on Linux the nice value is per thread), so a sign-in in progress
 * takes CPU only when the token endpoint's RSA signing on libuv's pool does not need it, and never
 * occupies a libuv thread. The parameters are stored with each hash, so the cost can be raised without
 * invalidating old hashes. Format: `scrypt$<log2N>$<r>$<p>$<salt>$<hash>` (base64url).
 */
const R = 8;
const P = 1;
const KEYLEN = 32;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
try { require('node:os').setPriority(0, 15); } catch {}
parentPort.on('message', (m) => {
  try {
    const key = scryptSync(m.password, Buffer.from(m.salt, 'base64url'), m.keylen, { N: m.N, r: m.r, p: m.p, maxmem: m.maxmem });
    parentPort.postMessage({ id: m.id, key: key.toString('base64url') });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});`;

interface Job {
  id: number;
  password: string;
  salt: string;
  N: number;
  r: number;
  p: number;
  keylen: number;
  maxmem: number;
}

class HashPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: { job: Job; resolve: (k: Buffer) => void; reject: (e: Error) => void }[] = [];
  private readonly running = new Map<number, { resolve: (k: Buffer) => void; reject: (e: Error) => void; worker: Worker }>();
  private started = false;
  private nextId = 1;

  private start(): void {
    this.started = true;
    for (let i = 0; i < Math.max(1, availableParallelism()); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      w.on('message', (m: { id: number; key?: string; error?: string }) => {
        const r = this.running.get(m.id);
        this.running.delete(m.id);
        this.release(w);
        if (!r) return;
        if (m.key !== undefined) r.resolve(Buffer.from(m.key, 'base64url'));
        else r.reject(new Error(m.error ?? 'scrypt failed'));
      });
      w.on('error', (err) => {
        for (const [id, r] of this.running) if (r.worker === w) (this.running.delete(id), r.reject(err));
      });
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) this.dispatch(w, next.job, next.resolve, next.reject);
    else {
      w.unref();
      this.idle.push(w);
    }
  }

  private dispatch(w: Worker, job: Job, resolve: (k: Buffer) => void, reject: (e: Error) => void): void {
    this.running.set(job.id, { resolve, reject, worker: w });
    w.ref(); // keep the process up while a hash is running
    w.postMessage(job);
  }

  derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
    if (!this.started) this.start();
    const N = 2 ** logN;
    const job: Job = { id: this.nextId++, password: password.normalize('NFKC'), salt: salt.toString('base64url'), N, r, p, keylen: KEYLEN, maxmem: 128 * N * r * p + 16 * 1024 * 1024 };
    return new Promise((resolve, reject) => {
      const w = this.idle.pop();
      if (w) this.dispatch(w, job, resolve, reject);
      else this.waiting.push({ job, resolve, reject });
    });
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

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, logN, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await pool.derive(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
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
}
