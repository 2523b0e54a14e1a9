import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs gives for `options`: named so the declaration file can name it. */
export type ParsedArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: boolean; options: O }>>;

/**
 * parseCommandArgs: Node's parseArgs (strict) with its errors told in our words — a
 * ConfigError naming the flag — instead of Node's ("To specify a positional argument
 * starting with a '-', place it at the end…"). A value the user typed is never echoed: it
 * may be a secret.
 */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, allowPositionals: boolean): ParsedArgs<O> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals, options });
  } catch (error) {
    throw argumentError(command, error);
  }
}

function argumentError(command: string, error: unknown): ConfigError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-{1,2}[^' <]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError('arguments', flag, `unknown option for sluice ${command}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take/.test(message)
        ? new ConfigError(flag ?? 'arguments', `${flag}=…`, `takes no value: write ${flag} alone`)
        : new ConfigError(flag ?? 'arguments', '', 'needs a value');
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError('arguments', '…', `sluice ${command} takes options only`);
    default:
      return new ConfigError('arguments', undefined, message);
  }
}
