import { z } from 'zod';

/**
 * How a policy or identity-provider file names a secret without holding it: `{ "env": NAME }`, an
 * environment variable of the server (only in files the operator wrote; never one of Latchkey's own
 * `LATCHKEY_*` settings), or `{ "secret": NAME }`, a secret of the tenant sealed under the master key
 * (`latchkey tenant secret set`, the admin API), which a tenant's administrator may use too.
 */
export type SecretRef = { env: string } | { secret: string };

/** A tenant secret's name: what `{ "secret": NAME }` and `tenant secret set --name` take. */
export const TENANT_SECRET_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Latchkey's own settings (the master key, the database URL…) are never a policy's to name. */
export function isServerSetting(name: string): boolean {
  return /^LATCHKEY_/i.test(name);
}

export const SERVER_SETTING_REFUSED =
  "names one of Latchkey's own settings (LATCHKEY_*), which no policy may read; store the value as a tenant secret (latchkey tenant secret set) and name it { \"secret\": NAME }";

export const secretRefSchema: z.ZodType<SecretRef> = z
  .object({ env: z.string().optional(), secret: z.string().optional() })
  .strict()
  .superRefine((ref, ctx) => {
    if ((ref.env === undefined) === (ref.secret === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'must be { "secret": NAME } (a tenant secret) or { "env": NAME } (an environment variable of the server)' });
      return;
    }
    if (ref.env !== undefined) {
      if (!ENV_NAME.test(ref.env)) ctx.addIssue({ code: 'custom', path: ['env'], message: 'must be an environment variable name' });
      else if (isServerSetting(ref.env)) ctx.addIssue({ code: 'custom', path: ['env'], message: SERVER_SETTING_REFUSED });
    }
    if (ref.secret !== undefined && !TENANT_SECRET_NAME.test(ref.secret)) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: "must be a tenant secret's name: a letter, then up to 63 letters, digits, '_', '.' or '-'" });
    }
  })
  .transform((ref): SecretRef => (ref.env !== undefined ? { env: ref.env } : { secret: ref.secret! }));

/**
 * Where a JSON document names environment variables: the paths of every `{ "env": … }` object in it.
 * A document a tenant's administrator wrote (admin API, console) must have none.
 */
export function envReferences(json: unknown, path = '$'): string[] {
  if (Array.isArray(json)) return json.flatMap((v, i) => envReferences(v, `${path}[${i}]`));
  if (json === null || typeof json !== 'object') return [];
  const o = json as Record<string, unknown>;
  if (typeof o.env === 'string' && Object.keys(o).length === 1) return [path];
  return Object.entries(o).flatMap(([k, v]) => envReferences(v, `${path}.${k}`));
}
