import { invalid, type ServiceError } from '../model/errors.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { type ProvisionDeps } from '../services/deps.js';

export interface CliContext {
  config: Config;
  /** Opened on first use, so `policy validate` works without a database. */
  deps(): Promise<ProvisionDeps>;
  json: boolean;
  print(text: string): void;
  printJson(value: unknown): void;
  readStdin(): Promise<string>;
}

export type Command = (ctx: CliContext, argv: string[]) => Promise<void>;

type Options = NonNullable<ParseArgsConfig['options']>;
type OptionValue<T> = T extends { type: 'boolean' } ? boolean : T extends { multiple: true } ? string[] : string;

/** What `parse` returns, spelled out so the CLI's types can be emitted as declarations. */
export interface Parsed<O> {
  values: { [K in keyof O]?: OptionValue<O[K]> } & { json?: boolean };
  positionals: string[];
}

/** Strict option parsing: unknown flags and missing values are one-line errors. */
export function parse<const O extends Options>(argv: string[], options: O, positionals = false): Parsed<O> {
  return parseArgs({ args: argv, options: { ...options, json: { type: 'boolean' } }, strict: true, allowPositionals: positionals }) as unknown as Parsed<O>;
}

export function need<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw invalid(`missing ${flag}`);
  return value;
}

export function usageError(text: string): ServiceError {
  return invalid(text);
}
