import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateFirstStartKey, takeFirstStartKey } from '../../src/tokens/first-start-key.js';

const saved = process.env.LATCHKEY_DB;
const dir = mkdtempSync(join(tmpdir(), 'latchkey-fsk-'));
afterEach(() => {
  process.env.LATCHKEY_DB = saved;
  takeFirstStartKey();
});

describe('the first start key', () => {
  it('is generated ahead only when the database does not exist yet, and handed out once', async () => {
    process.env.LATCHKEY_DB = join(dir, 'new.db');
    generateFirstStartKey();
    const key = takeFirstStartKey();
    expect(key).toBeDefined();
    const { privateKey } = await key!;
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(takeFirstStartKey()).toBeUndefined();
  });

  it('is not generated for an existing database', () => {
    const db = join(dir, 'old.db');
    writeFileSync(db, '');
    process.env.LATCHKEY_DB = db;
    generateFirstStartKey();
    expect(takeFirstStartKey()).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });
});
