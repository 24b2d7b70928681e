import { hashCostProblem, looseBase64 } from './password.js';

/**
 * Password hashes that `user import` accepts from other systems, turned into the forms
 * `verifyPassword` reads. Users keep their passwords; the first successful sign-in replaces the hash
 * with Latchkey's own.
 *
 * - bcrypt: `$2a$…`, `$2b$…`, `$2y$…`
 * - argon2: PHC strings `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (argon2i and argon2d too)
 * - scrypt: PHC `$scrypt$ln=…,r=…,p=…$salt$hash`, or Latchkey's own `scrypt$…` (an export of Latchkey)
 * - PBKDF2: passlib's `$pbkdf2-sha256$29000$salt$hash` or PHC's `$pbkdf2-sha256$i=29000$salt$hash` (sha1, sha256, sha512)
 * - Keycloak's credential (`users[].credentials[]` of a realm export): `{ type: "password", secretData,
 *   credentialData }` with algorithm `pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512` or `argon2`
 */
export type ImportedHash = { hash: string } | { error: string };

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function pbkdf2(algorithm: string, iterations: number, salt: Buffer, hash: Buffer): ImportedHash {
  const name = algorithm === 'pbkdf2' || algorithm === 'pbkdf2-sha1' ? 'pbkdf2-sha1' : algorithm;
  if (!['pbkdf2-sha1', 'pbkdf2-sha256', 'pbkdf2-sha512'].includes(name)) return { error: `unsupported PBKDF2 algorithm '${algorithm}'` };
  if (!Number.isSafeInteger(iterations) || iterations < 1) return { error: `PBKDF2 iterations out of range (${iterations})` };
  if (salt.length === 0 || hash.length < 16) return { error: 'PBKDF2 salt or hash is empty or too short' };
  return { hash: `${name}$${iterations}$${b64url(salt)}$${b64url(hash)}` };
}

function parseJson(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Keycloak's `additionalParameters` hold one-element string arrays. */
function param(params: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = params?.[name];
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : typeof v === 'string' ? v : undefined;
}

function keycloak(credential: Record<string, unknown>): ImportedHash {
  if (credential.type !== undefined && credential.type !== 'password') return { error: `a Keycloak credential of type '${String(credential.type)}' is not a password` };
  const secret = parseJson(credential.secretData);
  const data = parseJson(credential.credentialData);
  if (!secret || !data || typeof secret.value !== 'string' || typeof secret.salt !== 'string') {
    return { error: 'a Keycloak credential needs secretData {value, salt} and credentialData {algorithm, hashIterations} (JSON strings)' };
  }
  const algorithm = String(data.algorithm ?? '');
  const iterations = Number(data.hashIterations);
  const salt = looseBase64(secret.salt);
  const value = looseBase64(secret.value);
  if (algorithm === 'argon2') {
    const extra = data.additionalParameters as Record<string, unknown> | undefined;
    const type = param(extra, 'type') ?? 'id';
    const version = param(extra, 'version') === '1.0' ? 16 : 19;
    const memory = Number(param(extra, 'memory') ?? 7168);
    const parallelism = Number(param(extra, 'parallelism') ?? 1);
    if (!['id', 'i', 'd'].includes(type) || !Number.isInteger(iterations) || !Number.isInteger(memory) || !Number.isInteger(parallelism)) {
      return { error: 'the Keycloak argon2 credential has unreadable parameters' };
    }
    const enc = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    return { hash: `$argon2${type}$v=${version}$m=${memory},t=${iterations},p=${parallelism}$${enc(salt)}$${enc(value)}` };
  }
  return pbkdf2(algorithm, iterations, salt, value);
}

/** Reads an imported password hash (a string in one of the formats above, or a Keycloak credential), refusing one that costs more than Latchkey checks. */
export function importedHash(input: unknown): ImportedHash {
  const read = readHash(input);
  if ('error' in read) return read;
  const tooCostly = hashCostProblem(read.hash);
  return tooCostly ? { error: `passwordHash: ${tooCostly}` } : read;
}

function readHash(input: unknown): ImportedHash {
  if (input && typeof input === 'object' && !Array.isArray(input)) return keycloak(input as Record<string, unknown>);
  if (typeof input !== 'string' || input.length === 0 || input.length > 1024) return { error: 'passwordHash must be a hash string or a Keycloak credential object' };
  const s = input.trim();
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(s)) return { hash: s };
  if (/^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(s)) return { hash: s };
  if (/^\$scrypt\$ln=\d{1,2},r=\d{1,2},p=\d{1,2}\$[A-Za-z0-9+/.]+\$[A-Za-z0-9+/.]+$/.test(s)) return { hash: s };
  if (/^scrypt\$\d{1,2}\$\d{1,2}\$\d{1,2}\$[\w-]+\$[\w-]+$/.test(s)) return { hash: s };
  const phc = /^\$(pbkdf2(?:-sha1|-sha256|-sha512)?)\$(?:i=)?(\d+)\$([A-Za-z0-9+/.=_-]+)\$([A-Za-z0-9+/.=_-]+)$/.exec(s);
  if (phc) return pbkdf2(phc[1]!, Number(phc[2]), looseBase64(phc[3]!), looseBase64(phc[4]!));
  return { error: 'passwordHash is in no supported format (bcrypt, argon2, scrypt, PBKDF2, a Keycloak credential)' };
}
