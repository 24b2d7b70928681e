import { DEFAULT_DB_PATH } from '../paths.js';
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where the database lives unless LATCHKEY_DB says otherwise (config.ts reads the same default). */

type RsaPair = { privateKey: KeyObject; publicKey: KeyObject };

/**
 * The first start creates the demo tenant, whose RSA-2048 key takes 60-350 ms to generate. The server
 * imports this module before any other, so when the database does not exist yet the key is generated
 * on libuv's pool while the rest of the server's modules load, and the first key the server creates
 * takes it instead of generating another. On later starts nothing happens here.
 */
let pending: Promise<RsaPair> | undefined;

export function generateFirstStartKey(): void {
  const db = process.env.LATCHKEY_DB || DEFAULT_DB_PATH;
  if (pending || existsSync(resolve(db))) return;
  pending = new Promise((ok, fail) => generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => (err ? fail(err) : ok({ publicKey, privateKey }))));
  // Not used (a start that fails early) is not an error.
  pending.catch(() => undefined);
}

/** The key generated at start, once; afterwards undefined. */
export function takeFirstStartKey(): Promise<RsaPair> | undefined {
  const key = pending;
  pending = undefined;
  return key;
}
