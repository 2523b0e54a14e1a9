import { PREAMBLE, PREAMBLE_ARGV } from './preamble.js';
import { script, type Script } from './script.js';

/** One named field of a script's KEYS or ARGV. */
export interface Field {
  /** Its name: the TypeScript builder's field, and the Lua local it is read into (ARGV). */
  readonly name: string;
  /** What it holds, for the script's header. */
  readonly about: string;
  /** ARGV only: read with `tonumber` (so '' reads as nil); otherwise the string as sent. */
  readonly number?: boolean | undefined;
}

/**
 * Contract: a script's KEYS and ARGV, declared once. The script's header (a Lua comment at
 * the top of its source, BullMQ's habit) is written from it, and so are the Lua locals its
 * body reads the ARGV through; the script's TypeScript builder, beside it, pushes the same
 * fields in the same order (argvOf, or by hand on the rate scripts' hot path), and
 * test/store/redis/lua-contracts.test.ts checks every builder against the header.
 */
export interface Contract {
  readonly name: string;
  /** What the script does, a line per element. */
  readonly about: readonly string[];
  readonly keys: readonly Field[];
  /** ARGV after the preamble's three (PREAMBLE_ARGV), in order. */
  readonly argv: readonly Field[];
  /** What every ARGV after the named ones holds (one cost per request, a list of holders); the body finds the first at `ARGV[REST]`. */
  readonly rest?: Field | undefined;
  /** The reply, 'status,time,…' (preamble.ts), a line per element. */
  readonly reply: readonly string[];
}

/**
 * The script of `contract`: its header, the preamble, one local per named ARGV field
 * (`REST`, the index of the first of the rest, if any), then `body`.
 */
export function contractScript(contract: Contract, body: string): Script {
  const first = PREAMBLE_ARGV.length + 1;
  const reads = contract.argv.map((field, i) => `local ${field.name} = ${field.number === true ? `tonumber(ARGV[${first + i}])` : `ARGV[${first + i}]`}\n`).join('');
  const rest = contract.rest === undefined ? '' : `local REST = ${first + contract.argv.length}\n`;
  return script(contract.name, `${header(contract)}${PREAMBLE}\n${reads}${rest}${body}`);
}

/** The header: the contract as a Lua comment, one line per key, per ARGV and per reply element. */
function header(contract: Contract): string {
  const argv = [...PREAMBLE_ARGV, ...contract.argv];
  const lines = [
    `${contract.name} — ${contract.about[0] ?? ''}`,
    ...contract.about.slice(1),
    '',
    ...contract.keys.map((field, i) => row(`KEYS[${i + 1}]`, field)),
    ...argv.map((field, i) => row(`ARGV[${i + 1}]`, field)),
    ...(contract.rest === undefined ? [] : [row(`ARGV[${argv.length + 1}..]`, contract.rest)]),
    `Reply ${contract.reply[0] ?? ''}`,
    ...contract.reply.slice(1).map((line) => `      ${line}`),
  ];
  return lines.map((line) => (line === '' ? '--\n' : `-- ${line}\n`)).join('');
}

function row(slot: string, field: Field): string {
  return `${slot.padEnd(10)} ${field.name.padEnd(18)} ${field.about}`;
}

/**
 * The values of a contract's named ARGV fields, by name. Numbers are sent as String(x) writes
 * them (JavaScript's shortest exact text, which tonumber reads back to the same double);
 * `undefined` is sent as '', which a script reads as "none".
 */
export type ArgvValues<F extends readonly Field[]> = { readonly [K in F[number]['name']]: string | number | undefined };

/**
 * ARGV for a script: `preamble` (preambleArgv) followed by the value of each field of
 * `fields`, in their order — the header's.
 */
export function argvOf<const F extends readonly Field[]>(preamble: string[], fields: F, values: ArgvValues<F>): string[] {
  for (const field of fields) {
    const value = values[field.name as keyof ArgvValues<F>];
    preamble.push(value === undefined ? '' : String(value));
  }
  return preamble;
}
