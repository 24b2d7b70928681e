import { Option } from 'commander';
import type { Config } from '../config.js';
import type { ProvisionDeps } from '../services/deps.js';

/** What a command's action works with; made only when an action runs, so `--help` loads no config and opens no store. */
export interface CliContext {
  config: Config;
  /** Opened on first use, so `policy validate` works without a database. */
  deps(): Promise<ProvisionDeps>;
  json: boolean;
  print(text: string): void;
  printJson(value: unknown): void;
  /** A list: the rows as a JSON array with --json, else a table of `columns`. */
  printList(rows: Record<string, unknown>[], columns: string[]): void;
  readStdin(): Promise<string>;
}

/** A command's work: its parsed options (commander's camel-cased names) and its positional arguments. */
export type Action<O> = (ctx: CliContext, options: O, args: string[]) => Promise<void>;

/**
 * Wraps an action as commander's handler. The entry point supplies it (the context and the store it
 * opens on demand); command modules only declare their commands and say what each one does.
 */
export type Run = <O>(action: Action<O>) => (...params: unknown[]) => Promise<void>;

/** Bad input on the command line (exit code 2), as opposed to an operation the store or a service refused (1). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** For options given more than once (`--redirect-uri a --redirect-uri b`). */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** An option's value checked against a list while the command line is parsed, before anything is opened. */
export function oneOf<T extends string>(values: readonly T[], refusal: (value: string) => string): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new UsageError(refusal(value));
    return value as T;
  };
}

/** A numeric option's value, checked while the command line is parsed. */
export function numberOption(refusal: string, valid: (text: string, n: number) => boolean): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !valid(value, n)) throw new UsageError(refusal);
    return n;
  };
}

/**
 * An option a command cannot do without. Not commander's mandatory option: commander reports a missing
 * mandatory option before it refuses unknown ones, and a misspelt `--tenat` should be named as unknown
 * rather than reported as a missing `--tenant`. The program checks these just before the action runs.
 */
export class RequiredOption extends Option {}

export function required(flags: string, description: string): RequiredOption {
  return new RequiredOption(flags, description);
}

/** `--tenant`, as most commands take it. */
export function tenantOption(): RequiredOption {
  return required('--tenant <tenant>', "the tenant's slug or id");
}
