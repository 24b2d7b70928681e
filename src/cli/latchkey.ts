#!/usr/bin/env node
import { ServiceError, invalid } from '../model/errors.js';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { provisionDeps } from '../services/deps.js';
import { createDeps } from '../runtime.js';
import { StoreConflictError, StoreOpenError } from '../store/store.js';
import { appCommand } from './commands/app.js';
import { auditCommand } from './commands/audit.js';
import { keysCommand } from './commands/keys.js';
import { outboxCommand } from './commands/outbox.js';
import { policyCommand } from './commands/policy.js';
import { tenantCommand } from './commands/tenant.js';
import { userCommand } from './commands/user.js';
import type { CliContext, Command } from './context.js';
import type { Deps } from '../services/deps.js';

const USAGE = `usage: latchkey <command> [--json]
  migrate
  tenant create <slug> [--display-name NAME] [--id GUID] [--issuer-pattern tenant|tfp] | tenant list
  tenant set --tenant T [--legacy-ropc-url URL --legacy-client-id ID [--legacy-scope S] | --no-legacy-ropc] [--extensions-app-id GUID]
  app create --tenant T --name N --type web|spa|native|daemon|api [--redirect-uri U]… [--post-logout-redirect-uri U]…
             [--identifier-uri U] [--allow-implicit] [--allow-ropc] [--logout-url U] [--client-id GUID]
  app list|show --tenant T [--app CLIENT_ID]
  app scope add --tenant T --app API --scope NAME      app role add --tenant T --app API --role NAME
  app grant|revoke --tenant T --app CLIENT_ID --api API (--scope NAME | --role NAME)
  user create --tenant T --email E (--password P | --password-stdin) [--given-name …] [--family-name …] [--display-name …]
  user list --tenant T | user show|disable|enable|delete --tenant T --user ID_OR_EMAIL
  user identity add|remove --tenant T --user ID_OR_EMAIL --issuer DOMAIN --issuer-assigned-id ID
  user import --tenant T FILE [--report FILE]        (Graph-shaped users: JSON Lines or a JSON array)
  user export --tenant T [--with-password-hashes] [--output FILE]
  keys list|rotate|retire --tenant T [--kid KID] [--grace-hours H]
  policy validate [files…]
  outbox list --tenant T [--to EMAIL]
  audit list [--tenant T] [--since ISO-TIME|30m|24h|7d] [--limit N]
Works on the database named by LATCHKEY_DB (default ./data/latchkey.db), also while the server runs.`;

const migrate: Command = async (ctx) => {
  const { migration } = (await ctx.deps()).store;
  if (ctx.json) ctx.printJson({ applied: migration.applied, version: migration.current });
  else ctx.print(migration.applied.length > 0 ? `applied ${migration.applied.join(', ')}` : `up to date (version ${migration.current})`);
};

const commands: Record<string, Command> = {
  migrate,
  tenant: tenantCommand,
  app: appCommand,
  user: userCommand,
  keys: keysCommand,
  policy: policyCommand,
  outbox: outboxCommand,
  audit: auditCommand,
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw invalid('--password-stdin needs the password on standard input');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`latchkey: unknown command '${name}' (see latchkey --help)\n`);
    return 2;
  }
  let deps: Promise<Deps> | undefined;
  try {
    const config = loadConfig();
    const ctx: CliContext = {
      config,
      json,
      deps: async () => {
        deps ??= createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false });
        const d = await deps;
        return provisionDeps(d);
      },
      print: (text) => process.stdout.write(text + '\n'),
      printJson: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
      readStdin,
    };
    await command(ctx, rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const known = err instanceof ServiceError || err instanceof ConfigError || err instanceof StoreConflictError || err instanceof StoreOpenError;
    const parseError = err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS');
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    process.stderr.write(`latchkey: ${known || parseError ? message : `unexpected error: ${message}`}\n`);
    return parseError ? 2 : 1;
  } finally {
    if (deps) await deps.then((d) => d.close(), () => undefined);
  }
}

// process.exit drops what a pipe has not taken yet: exit once stdout and stderr have flushed.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
main(process.argv.slice(2)).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
