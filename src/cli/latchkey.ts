#!/usr/bin/env node
import { CommanderError, type Command } from 'commander';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { invalid, ServiceError } from '../model/errors.js';
import { provisionDeps } from '../services/deps.js';
import { createDeps } from '../runtime.js';
import { StoreConflictError, StoreOpenError } from '../store/store.js';
import { UsageError, type Action, type CliContext, type Run } from './context.js';
import { table } from './output.js';
import { buildProgram, commandPath } from './program.js';
import type { Deps } from '../services/deps.js';

/** Exit codes: 0 done, 1 an operation refused, 2 a wrong command line. */
const REFUSED = 1;
const USAGE = 2;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw invalid('standard input is a terminal: pipe the value in (--password-stdin, --value-stdin)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The deepest command `argv` names, for the "see … --help" hint. */
function named(program: Command, argv: string[]): Command {
  let cmd = program;
  for (const word of argv.filter((w) => !w.startsWith('-'))) {
    const next = cmd.commands.find((c) => c.name() === word);
    if (!next) break;
    cmd = next;
  }
  return cmd;
}

/** Commander's message ("error: unknown option '--x'\n(Did you mean --y?)") as one line. */
function commanderMessage(err: CommanderError, program: Command, argv: string[]): string {
  let text = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace('(Did you mean', '(did you mean');
  // Worded as the CLI's earlier parser (node:util parseArgs) worded it, which scripts may match.
  if (err.code === 'commander.unknownOption') text = text.replace(/^unknown option/, 'Unknown option');
  return `${text} (see ${commandPath(named(program, argv))} --help)`;
}

async function main(argv: string[]): Promise<number> {
  let deps: Promise<Deps> | undefined;
  // Made when an action runs, never for --help or a refused command line: no config read, no store opened.
  const run: Run = <O,>(action: Action<O>) => async (...params: unknown[]) => {
    const command = params.at(-1) as Command;
    const config = loadConfig();
    const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
    const ctx: CliContext = {
      config,
      json,
      deps: async () => {
        deps ??= createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false });
        return provisionDeps(await deps);
      },
      print: (text) => process.stdout.write(text + '\n'),
      printJson: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
      printList: (rows, columns) => ctx.print(json ? JSON.stringify(rows, null, 2) : table(rows, columns)),
      readStdin,
    };
    await action(ctx, command.opts() as O, command.args);
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help (and `help`) exit 0; help shown for a group named without a command is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : USAGE;
      process.stderr.write(`latchkey: ${commanderMessage(err, program, argv)}\n`);
      return USAGE;
    }
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    if (err instanceof UsageError) {
      process.stderr.write(`latchkey: ${message}\n`);
      return USAGE;
    }
    const known = err instanceof ServiceError || err instanceof ConfigError || err instanceof StoreConflictError || err instanceof StoreOpenError;
    process.stderr.write(`latchkey: ${known ? message : `unexpected error: ${message}`}\n`);
    return REFUSED;
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
