import { createCipheriv, createDecipheriv, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes are drawn from the CSPRNG 4 KiB at a time and handed out once each, as node does for
 * randomUUID: a call per token cost more than the bytes on the token endpoint (three per code
 * redemption). Bytes handed out are zeroed in the pool.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** High-entropy random token, base64url. 32 bytes = 256 bits. */
export function randomToken(bytes = 32): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const part = pool.subarray(poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  const token = part.toString('base64url');
  part.fill(0);
  return token;
}

/** SHA-256, base64url. Used for client secrets, codes, refresh tokens: all random and high-entropy. */
export function sha256(value: string | Buffer): string {
  // One-shot hashing: a Hash object per call cost more than the hashing on the token endpoint.
  return hash('sha256', value, 'base64url');
}

/**
 * Constant-time comparison of two strings. Hashing both first gives equal lengths, so the
 * comparison time does not depend on where they differ or how long the secret is; a trailing NUL or
 * padding makes a different digest.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = hash('sha256', a, 'buffer');
  const db = hash('sha256', b, 'buffer');
  return timingSafeEqual(da, db) && a.length === b.length;
}

/**
 * Encrypts values at rest with AES-256-GCM under a key derived from LATCHKEY_MASTER_KEY.
 * Without a master key values are stored as they are, marked `plain:`.
 */
export class SecretBox {
  private readonly key: Buffer | undefined;

  constructor(masterKey: string | undefined) {
    this.key = masterKey
      ? Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), Buffer.alloc(0), 'latchkey secrets v1', 32))
      : undefined;
  }

  get encrypts(): boolean {
    return this.key !== undefined;
  }

  seal(plain: string): string {
    if (!this.key) return `plain:${plain}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `aesgcm:${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain:')) return sealed.slice(6);
    if (!sealed.startsWith('aesgcm:')) throw new Error('unknown sealed value format');
    if (!this.key) throw new Error('LATCHKEY_MASTER_KEY is needed to read encrypted keys');
    const [iv, tag, ct] = sealed.slice(7).split('.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('cannot decrypt a stored secret: LATCHKEY_MASTER_KEY is not the key it was sealed with');
    }
  }
}
