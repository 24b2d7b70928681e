import { Command, Help } from 'commander';
import { registerApp } from './commands/app.js';
import { registerAudit } from './commands/audit.js';
import { registerKeys } from './commands/keys.js';
import { registerMigrate } from './commands/migrate.js';
import { registerOutbox } from './commands/outbox.js';
import { registerPolicy } from './commands/policy.js';
import { registerTenant } from './commands/tenant.js';
import { registerUser } from './commands/user.js';
import { repeatable, RequiredOption, type Run } from './context.js';

export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const FOOTER = `
Every command takes --json. The CLI works on the database named by LATCHKEY_DB (default
./data/latchkey.db), also while the server runs, and on the policies under LATCHKEY_POLICIES_DIR.
Exit codes: 0 done; 1 refused (by a check, the store, or invalid policy files or import rows);
2 a wrong command line (unknown command or option, a missing or invalid value).`;

/** Every command below `cmd`, depth first in the order they were declared. */
export function commandsUnder(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...commandsUnder(c)]);
}

/** `latchkey app create` for the `create` under `app`. */
export function commandPath(cmd: Command): string {
  return cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name();
}

/** One command's synopsis, from its declaration: arguments, then options (optional ones bracketed). */
function synopsis(cmd: Command): string[] {
  const args = cmd.registeredArguments.map((a) => {
    const name = `${a.name()}${a.variadic ? '…' : ''}`;
    return a.required ? `<${name}>` : `[${name}]`;
  });
  const options = cmd.options.filter((o) => !o.hidden).map((o) => {
    const term = o.flags.replace(/\.\.\.>$/, '>');
    const many = o.parseArg === (repeatable as unknown) ? '…' : '';
    return o instanceof RequiredOption ? `${term}${many}` : `[${term}]${many}`;
  });
  return [commandPath(cmd), ...args, ...options];
}

/** Words wrapped to `width`, continuation lines indented: a synopsis stays readable in 100 columns. */
function wrap(words: string[], width = 100, indent = '  ', more = '      '): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of words) {
    const start = line === indent || line === more;
    if (!start && line.length + 1 + word.length > width) {
      lines.push(line);
      line = more + word;
    } else line += (start ? '' : ' ') + word;
  }
  return [...lines, line].join('\n');
}

/** Appended to a command group's help: every command beneath it with all its options, so nothing is hidden a level down. */
function everyCommand(group: Command): string {
  const leaves = commandsUnder(group).filter((c) => c.commands.length === 0);
  return `\nEvery command (${commandPath(group)} <command> --help says what each option does):\n${leaves.map((c) => wrap(synopsis(c))).join('\n')}\n`;
}

/**
 * `latchkey …`: every command declared once, with commander. The help, the refusal of unknown commands
 * and options, and the synopses come from these declarations. `run` turns each command's action into
 * commander's handler; help and parse errors never reach it, so they open nothing.
 */
export function buildProgram(run: Run, output: Partial<ProgramOutput> = {}): Command {
  const program = new Command('latchkey')
    .description("Latchkey's operator CLI: tenants, apps, users, keys, policies, mail and the audit log")
    .usage('<command> [options]')
    .option('--json', 'print JSON (OAuth field names; a created object at the top level; lists as arrays)')
    .configureHelp({
      showGlobalOptions: true,
      optionDescription(option) {
        const text = Help.prototype.optionDescription.call(this, option);
        return option instanceof RequiredOption ? `${text} (required)` : text;
      },
    })
    // The entry point prints commander's errors as one line (and chooses the exit code).
    .configureOutput({ ...output, outputError: () => undefined })
    .exitOverride()
    // Runs after commander refused unknown options and arguments, so those are named first.
    .hook('preAction', (_program, command) => {
      const missing = command.options.find((o) => o instanceof RequiredOption && command.getOptionValue(o.attributeName()) === undefined);
      if (missing) command.error(`error: required option '${missing.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: 2 });
    });
  // Settings above are copied into each command as it is declared, so they come first.
  for (const register of [registerMigrate, registerTenant, registerApp, registerUser, registerKeys, registerPolicy, registerOutbox, registerAudit]) {
    register(program, run);
  }
  for (const group of [program, ...commandsUnder(program)]) {
    if (group.commands.length > 0) group.addHelpText('after', () => everyCommand(group) + (group === program ? FOOTER : ''));
  }
  return program;
}
