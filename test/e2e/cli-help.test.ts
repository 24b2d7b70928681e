import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { RequiredOption } from '../../src/cli/context.js';
import { buildProgram, commandPath, commandsUnder } from '../../src/cli/program.js';

/** The built CLI (`npm ci` builds dist/), run as an operator runs it. */
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'latchkey.js');
const dirs: string[] = [];

/** A database and policies folder that do not exist yet. */
function fresh() {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-help-'));
  dirs.push(dir);
  const data = join(dir, 'data');
  const policies = join(dir, 'policies');
  return { dir, data, db: join(data, 'latchkey.db'), policies, env: { PATH: process.env.PATH, LATCHKEY_DB: join(data, 'latchkey.db'), LATCHKEY_POLICIES_DIR: policies, LATCHKEY_PASSWORD_COST: '12' } };
}

/** Runs the CLI without blocking the test worker, whose runner must keep answering while commands run. */
async function run(env: NodeJS.ProcessEnv, args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Every file under `dir` with its size, modification time and content hash. */
function snapshot(dir: string): Record<string, { size: number; mtimeMs: number; sha256: string }> {
  return Object.fromEntries(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().filter((f) => statSync(join(dir, f)).isFile()).map((f) => {
    const s = statSync(join(dir, f));
    return [f, { size: s.size, mtimeMs: s.mtimeMs, sha256: createHash('sha256').update(readFileSync(join(dir, f))).digest('hex') }];
  }));
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('latchkey <command> --help', { timeout: 120_000 }, () => {
  it('prints the help of app create, user import and migrate, exits 0, and creates no database', async () => {
    const t = fresh();
    const cases: [string[], string[]][] = [
      [['app', 'create', '--help'], ['Usage: latchkey app create', '--tenant <tenant>', '--type <web|spa|native|daemon|api|saml>', '--redirect-uri <uri>', '--third-party', '--json']],
      [['user', 'import', '--help'], ['Usage: latchkey user import [options] <file>', '--tenant <tenant>', '--report <file>', '--json']],
      [['migrate', '--help'], ['Usage: latchkey migrate', '--json']],
      // Help wins over everything else on the line, also over the options a run would need.
      [['user', 'import', '--tenant', 'contoso', 'users.jsonl', '--help'], ['Usage: latchkey user import']],
      [['migrate', '--json', '--help'], ['Usage: latchkey migrate']],
      [['help', 'migrate'], ['Usage: latchkey migrate']],
    ];
    for (const [args, expected] of cases) {
      const r = await run(t.env, args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
      for (const text of expected) expect(r.stdout, args.join(' ')).toContain(text);
    }
    // Nothing was opened, migrated or written.
    expect(existsSync(t.data)).toBe(false);
    expect(existsSync(t.policies)).toBe(false);
  });

  it('changes nothing in an existing database', async () => {
    const t = fresh();
    expect((await run(t.env, ['tenant', 'create', 'contoso', '--json'])).code).toBe(0);
    const users = join(t.dir, 'users.jsonl');
    writeFileSync(users, JSON.stringify({ id: '6a8e1c1d-2f4b-4c39-9d0e-6f1e2a3b4c5d', displayName: 'Ann', identities: [{ signInType: 'emailAddress', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: 'ann@example.com' }] }) + '\n');
    const before = { data: snapshot(t.data), policies: snapshot(t.policies) };
    for (const args of [['migrate', '--help'], ['user', 'import', '--tenant', 'contoso', users, '--help'], ['app', 'create', '--tenant', 'contoso', '--name', 'Web', '--type', 'spa', '--help'], ['tenant', 'create', 'fabrikam', '--help'], ['user', 'delete', '--tenant', 'contoso', '--user', 'ann@example.com', '--help']]) {
      expect((await run(t.env, args)).code, args.join(' ')).toBe(0);
    }
    expect({ data: snapshot(t.data), policies: snapshot(t.policies) }).toEqual(before);
    expect(JSON.parse((await run(t.env, ['user', 'list', '--tenant', 'contoso', '--json'])).stdout)).toEqual([]);
    expect(JSON.parse((await run(t.env, ['tenant', 'list', '--json'])).stdout).map((x: { slug: string }) => x.slug)).toEqual(['contoso']);
  });

  it('lists every command with its options in latchkey --help', async () => {
    const r = await run(fresh().env, ['--help']);
    expect(r.code).toBe(0);
    for (const text of [
      'latchkey migrate', 'latchkey app secret add', 'latchkey app secret list', 'latchkey app secret revoke', 'latchkey user mfa show', 'latchkey user mfa reset',
      'latchkey user identity add', 'latchkey user identity remove', '[--third-party]', 'latchkey user export --tenant <tenant> [--with-password-hashes] [--output <file>]',
      'latchkey user import <file> --tenant <tenant> [--report <file>]', 'latchkey keys rotate', 'latchkey policy validate [files…]', 'latchkey outbox list', 'latchkey audit list',
    ]) expect(r.stdout).toContain(text);
    // And every command the program declares, with each of its options, wrapped lines joined.
    const help = r.stdout.replace(/\n {6}/g, ' ');
    const program = buildProgram(() => async () => undefined);
    for (const leaf of commandsUnder(program).filter((c) => c.commands.length === 0)) {
      const line = help.split('\n').find((l) => l.startsWith(`  ${commandPath(leaf)} `) || l === `  ${commandPath(leaf)}`);
      expect(line, commandPath(leaf)).toBeDefined();
      for (const option of leaf.options) expect(line, commandPath(leaf)).toContain(option.flags);
    }
  });
});

describe('a wrong command line', { timeout: 120_000 }, () => {
  it('is refused in one line naming the bad word, with exit code 2, before anything is opened', async () => {
    const t = fresh();
    const cases: [string[], string][] = [
      [['user', 'frobnicate'], "latchkey: unknown command 'frobnicate' (see latchkey user --help)"],
      [['app', 'create', '--frobnicate'], "latchkey: Unknown option '--frobnicate' (see latchkey app create --help)"],
      // An unknown option is named before the required ones it may have misspelt.
      [['app', 'create', '--tenat', 'contoso', '--name', 'Web', '--type', 'spa'], "latchkey: Unknown option '--tenat' (did you mean --tenant?) (see latchkey app create --help)"],
      [['app', 'create', '--name', 'Web', '--type', 'spa'], "latchkey: required option '--tenant <tenant>' not specified (see latchkey app create --help)"],
      [['user', 'import', '--tenant', 'contoso'], "latchkey: missing required argument 'file' (see latchkey user import --help)"],
      [['app', 'secret', 'add', '--tenant', 'contoso'], "latchkey: required option '--app <client_id>' not specified (see latchkey app secret add --help)"],
      [['app', 'create', '--tenant', 'contoso', '--name', 'Web', '--type', 'robot'], "latchkey: invalid --type 'robot': one of web, spa, native, daemon, api, saml"],
      [['app', 'grant', '--tenant', 'contoso', '--app', 'a', '--api', 'b'], 'latchkey: give exactly one of --scope or --role'],
      [['keys', 'list', '--tenant', 'contoso', 'extra'], "latchkey: too many arguments for 'list'. Expected 0 arguments but got 1. (see latchkey keys list --help)"],
      // Options belong to the commands that use them.
      [['keys', 'list', '--tenant', 'contoso', '--grace-hours', '1'], "latchkey: Unknown option '--grace-hours' (see latchkey keys list --help)"],
    ];
    for (const [args, line] of cases) {
      const r = await run(t.env, args);
      expect([r.code, r.stdout, r.stderr], args.join(' ')).toEqual([2, '', `${line}\n`]);
    }
    expect(existsSync(t.data)).toBe(false);
  });

  it('tells a refused operation (exit code 1) from a wrong command line', async () => {
    const t = fresh();
    const r = await run(t.env, ['app', 'create', '--tenant', 'nowhere', '--name', 'Web', '--type', 'spa', '--redirect-uri', 'https://web.example/']);
    expect([r.code, r.stderr]).toEqual([1, "latchkey: no tenant 'nowhere'\n"]);
  });
});

describe("README's CLI section", () => {
  it('names every command, and only commands and options that exist', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The `latchkey` CLI'), readme.indexOf('## Moving off Azure AD B2C'));
    const lines = section.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.startsWith('npx latchkey ')).map((l) => l.replace(/#.*$/, ''));
    expect(lines.length).toBeGreaterThan(30);
    const program = buildProgram(() => async () => undefined);
    const shown = new Set<Command>();
    for (const line of lines) {
      const words = line.split(/\s+/).slice(2);
      // `user show|disable …` names several commands at once.
      let commands: Command[] = [program];
      while (words.length > 0) {
        const names = words[0]!.split('|');
        const next = commands.flatMap((c) => names.map((n) => c.commands.find((s) => s.name() === n)));
        if (next.some((c) => c === undefined)) break;
        commands = next as Command[];
        words.shift();
      }
      for (const cmd of commands) {
        expect(cmd.commands, `${line}: names a command group, not a command`).toEqual([]);
        shown.add(cmd);
        for (const flag of words.flatMap((w) => w.replace(/^\[|\]…?$/g, '').match(/^--[a-z0-9-]+/) ?? [])) {
          expect(cmd.options.map((o) => o.long), `${line}: ${flag}`).toContain(flag);
        }
      }
    }
    const leaves = commandsUnder(program).filter((c) => c.commands.length === 0);
    expect(leaves.filter((c) => !shown.has(c)).map(commandPath)).toEqual([]);
  });
});

describe('every command', () => {
  /** The program as the CLI declares it, with actions that only record that they ran. */
  function program() {
    const ran: string[] = [];
    const out: string[] = [];
    const p = buildProgram(() => async (...params: unknown[]) => {
      ran.push(commandPath(params.at(-1) as Command));
    }, { writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    return { p, ran, out };
  }
  const all = commandsUnder(program().p);

  it('has --help, which reaches no action', async () => {
    expect(all.length).toBeGreaterThan(40);
    for (const cmd of all) {
      const { p, ran, out } = program();
      const words = commandPath(cmd).split(' ').slice(1);
      const err = await p.parseAsync([...words, '--help'], { from: 'user' }).then(() => undefined, (e: unknown) => e);
      expect(err, words.join(' ')).toBeInstanceOf(CommanderError);
      expect((err as CommanderError).code, words.join(' ')).toBe('commander.helpDisplayed');
      expect(out.join(''), words.join(' ')).toContain(`Usage: ${commandPath(cmd)}`);
      expect(ran).toEqual([]);
    }
  });

  it('accepts --json: it is in the help of every command that runs, and parsing it reaches the action', async () => {
    const leaves = all.filter((c) => c.commands.length === 0);
    for (const leaf of leaves) {
      const words = commandPath(leaf).split(' ').slice(1);
      expect(leaf.helpInformation(), words.join(' ')).toMatch(/^ {2}--json +print JSON/m);
      // With every required option and argument given, --json is taken, not refused as unknown.
      const args = [
        ...leaf.registeredArguments.filter((a) => a.required).map(() => 'x'),
        // Values checked while parsing get one they take.
        ...leaf.options.filter((o) => o instanceof RequiredOption).flatMap((o) => [o.long!, o.long === '--type' ? 'web' : o.long === '--role' ? 'GlobalReader' : 'x']),
      ];
      const { p, ran } = program();
      await p.parseAsync([...words, ...args, '--json'], { from: 'user' });
      expect(ran, words.join(' ')).toEqual([commandPath(leaf)]);
      expect(p.opts().json, words.join(' ')).toBe(true);
    }
  });
});
