import type { Algorithm, LimitSpec } from '../../algorithms/limit-spec.js';
import { contractScript, type Contract, type Field } from './contract.js';
import { FIXED_WINDOW } from './fixed-window.js';
import { SHARE_ARGV, SHARE_KEY, SHARE_LOAD, SHARE_REFUSED, SHARE_SAVE, SHARE_SPREAD, SHARE_TAKE, SHARE_WAIT } from './fair-share.js';
import { GCRA } from './gcra.js';
import { indented, type LimitLua } from './limit-lua.js';
import { preambleArgv } from './preamble.js';
import type { Script } from './script.js';
import { SLIDING_WINDOW } from './sliding-window.js';
import { SMOOTHING } from './smoothing.js';

/**
 * The rate scripts — reserve, reserveMany, refund and charge — for one list of limits: each limit's
 * algorithm (LimitLua) pasted in at its position, so a script holds only what its requests
 * run.
 *
 * Twin: MemoryStore's reserve, refund and charge (src/store/memory.ts) over the state classes of
 * src/algorithms/, line for line; parity proven by test/store/redis/memory-vs-redis.test.ts
 * (random schedules), test/store/redis/conformance.test.ts (the tables) and
 * test/store/redis/sliding-window-log.test.ts.
 *
 * Numbers reach Redis as JavaScript's shortest exact text (String(x), which tonumber reads
 * back to the same double) and are kept there as packed doubles (struct.pack '<d'), so Redis
 * makes the very decisions the TypeScript state classes make. Arguments stay text: a Buffer
 * argument sends ioredis down a slower path.
 */

const CODE: Record<Algorithm, string> = { gcra: 'g', 'sliding-window': 's', 'fixed-window': 'f' };
/** One letter per part of a request: each algorithm, and 'w', a limit's `smooth` rule. */
const BY_CODE: Record<string, LimitLua> = { g: GCRA, s: SLIDING_WINDOW, f: FIXED_WINDOW, w: SMOOTHING };
const NAME: Record<string, string> = { g: 'gcra', s: 'sliding window', f: 'fixed window', w: 'smoothing' };

/** The parts of a request in script order: each limit's algorithm, then its smoothing if set. */
function partsOf(limits: readonly LimitSpec[]): { code: string; spec: LimitSpec }[] {
  return limits.flatMap((spec) => (spec.smoothMs === undefined ? [{ code: CODE[spec.algorithm], spec }] : [{ code: CODE[spec.algorithm], spec }, { code: 'w', spec }]));
}

/**
 * The most limits one request may have in Redis (a limit with `smooth` counts twice): each
 * limit's state lives in Lua locals, and Lua allows 200 per function.
 */
export const MAX_REDIS_LIMITS = 12;

/**
 * An admission is answered '0!' rather than '0' when a sliding window is at least this full
 * after it: only there can a late start push a window over its limit (redis.ts checks those).
 */
export const LATE_CHECK_FILL = 0.5;

/** Pastes an algorithm fragment for the limit at `position` (1-based). */
function at(fragment: string, position: number): string {
  return fragment.replace(/\$/g, String(position));
}

const COST: Field = { name: 'cost', about: 'the units this request takes', number: true };
const AT: Field = { name: 'at', about: "the Redis time, ms, the start to give back was decided at; '' = the newest start", number: true };
const USED_AT: Field = { name: 'at', about: "the Redis time, ms, the start that used the units was decided at; '' = now (usage of the moment)", number: true };
const ORDER: Field = {
  name: 'order',
  about: "'fifo': stop at the first refusal (a queue served in order: nobody behind it may start first); a count k: stop at a refusal among the first k, decide the rest each on its own (a queue's callers, then a lease's parts); '': decide each on its own",
};
const COSTS: Field = { name: 'costs', about: 'one cost per request, in order', number: true };
const ITEM = "item: '0' admitted | '0!' admitted, a sliding window at least LATE_CHECK_FILL full after it (check it is not late) | the wait in ms ('inf' = never)";

/** The contract's parts for `sequence`: a key per part, and each part's numbers, suffixed by position. */
function partsContract(sequence: string, name: string, about: string[], argv: Field[], reply: string[], rest?: Field): Contract {
  const codes = [...sequence];
  return {
    name: `${name}-${sequence}`,
    about,
    keys: codes.map((c, i) => ({ name: `part${i + 1}`, about: `the ${NAME[c]} state of part ${i + 1}` })),
    argv: [...argv, ...codes.flatMap((c, i) => BY_CODE[c]!.params.map((p) => ({ name: `${p.name}${i + 1}`, about: `part ${i + 1}, ${NAME[c]}: ${p.about}`, number: true })))],
    reply,
    ...(rest === undefined ? {} : { rest }),
  };
}

/** Every part's `load`: reads the state into its locals. */
function loads(lua: LimitLua[], sequence: string): string {
  return lua.map((l, i) => `\n-- part ${i + 1}: ${NAME[sequence[i]!]}\n${at(l.load, i + 1)}`).join('\n');
}

/**
 * reserve — decides `cost` against every limit of one key atomically: if all admit,
 * records it in all; otherwise records nothing and answers the wait (MemoryStore.reserve,
 * line for line).
 */
function reserveScript(sequence: string): Script {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const sliding = lua.includes(SLIDING_WINDOW);
  const contract = partsContract(
    sequence,
    'reserve',
    ['decides `cost` against every limit of one key atomically: if all admit, records it in all;', 'otherwise records nothing and answers the wait (MemoryStore.reserve).'],
    [COST],
    ["'ok,time,item' | 'stale,time'", ITEM],
  );
  return contractScript(
    contract,
    `${loads(lua, sequence)}

local wait, w = 0, 0
${lua.map((l, i) => `${at(l.wait, i + 1)}\nif w > wait then wait = w end`).join('\n')}
if wait > 0 then
${lua.map((l, i) => `  ${indented(at(l.save, i + 1))}`).join('\n')}
  return 'ok,' .. clock .. ',' .. fmt(wait)
end
${sliding ? '-- the fullest sliding window after the admission (sum / limit)\nlocal FILL = 0\n' : ''}${lua.map((l, i) => at(l.take, i + 1)).join('\n')}
return 'ok,' .. clock${sliding ? ` .. (FILL >= ${LATE_CHECK_FILL} and ',0!' or ',0')` : ` .. ',0'`}
`,
  );
}

/**
 * reserveMany — decides several requests of one key in one call, in order, at one instant:
 * each as `reserve` would if sent alone right after the one before. A fleet's process
 * sends every `reserve` its callers make in the same tick as one such call, so Redis runs
 * one script and one `TIME` for all of them, and the client writes one command.
 *
 * `shared` (reserve-shared, a store that leases permits): also paces the calling member at
 * its fair share of the limit (lua/fair-share.ts) — one more key, the members' HASH, last.
 */
function reserveManyScript(sequence: string, shared: boolean): Script {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const sliding = lua.includes(SLIDING_WINDOW);
  const contract = partsContract(
    sequence,
    shared ? 'reserve-shared' : 'reserve-many',
    [
      'decides several requests of one key, in order, at one instant: each as reserve would',
      'if sent alone right after the one before.',
      ...(shared ? ["Shared: each also waits for this member's fair share of the limit (lua/fair-share.ts)."] : []),
    ],
    shared ? [ORDER, ...SHARE_ARGV] : [ORDER],
    ["'ok,time,item,item,…' — an item per request decided; with 'fifo' they end at the first refusal", ITEM, "| 'stale,time'"],
    COSTS,
  );
  const keys = shared ? { ...contract, keys: [...contract.keys, SHARE_KEY] } : contract;
  const limitWaits = lua.map((l, i) => `${at(l.wait, i + 1)}\nif w > wait then wait = w end`);
  const waits = shared ? [...limitWaits, `if wait > 0 then\n  ${indented(SHARE_SPREAD)}\nend\n${SHARE_WAIT}\nif w > wait then wait = w end`] : limitWaits;
  const takes = lua.map((l, i) => at(l.take, i + 1));
  if (shared) takes.push(SHARE_TAKE);
  return contractScript(
    keys,
    `${loads(lua, sequence)}
${shared ? `\n-- this member's fair share\n${SHARE_LOAD}\n` : ''}
local in_order = 0
if order == 'fifo' then in_order = INF elseif order ~= '' then in_order = tonumber(order) end
local out, refused = {}, false
local cost
${sliding ? 'local FILL = 0\n' : ''}for q = REST, #ARGV do
  cost = tonumber(ARGV[q])
  local wait, w = 0, 0
  ${indented(waits.join('\n'))}
  if wait > 0 then
    refused = true
    out[#out + 1] = fmt(wait)${shared ? `\n    ${SHARE_REFUSED}` : ''}
    if q - REST < in_order then break end
  else
    ${sliding ? 'FILL = 0\n    ' : ''}${indented(indented(takes.join('\n')))}
    out[#out + 1] = ${sliding ? `FILL >= ${LATE_CHECK_FILL} and '0!' or '0'` : `'0'`}
  end
end
if refused then
${lua.map((l, i) => `  ${indented(at(l.save, i + 1))}`).join('\n')}
end
${shared ? `${SHARE_SAVE}\n` : ''}return 'ok,' .. clock .. ',' .. table.concat(out, ',')
`,
  );
}

/**
 * refund — gives back `cost` taken from every limit of one key (MemoryStore.refund). With a
 * decision time (`at`) windows give it back from that very start, not the newest one: in a
 * fleet the newest start may be another process's.
 */
function refundScript(sequence: string): Script {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const contract = partsContract(
    sequence,
    'refund',
    ['gives back `cost` taken from every limit of one key (MemoryStore.refund); with `at`, from', 'the start decided then rather than the newest.'],
    [COST, AT],
    ["'ok,time' | 'stale,time'"],
  );
  return contractScript(contract, `${loads(lua, sequence)}\n\n${lua.map((l, i) => at(l.refund, i + 1)).join('\n')}\nreturn 'ok,' .. clock\n`);
}

/**
 * charge — records `cost` used by the start decided at `at` in every limit of one key,
 * without asking (MemoryStore.charge): windows count it where it was used, pacers from now.
 */
function chargeScript(sequence: string): Script {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const sliding = lua.includes(SLIDING_WINDOW);
  const contract = partsContract(
    sequence,
    'charge',
    ['records `cost` used by the start decided at `at` in every limit of one key, without asking', '(MemoryStore.charge): windows count it where it was used, pacers from now.'],
    [COST, USED_AT],
    ["'ok,time' | 'stale,time'"],
  );
  return contractScript(
    contract,
    `${loads(lua, sequence)}

if not at then at = now end
${sliding ? '-- read by the sliding window\'s take, which a charge may run\nlocal FILL = 0\n' : ''}${lua.map((l, i) => at(l.charge, i + 1)).join('\n')}
return 'ok,' .. clock
`,
  );
}

/** One letter per part of a request, in order: the script it needs ('g', 's', 'f'; 'w' after a smoothed limit). */
export function sequenceOf(limits: readonly LimitSpec[]): string {
  return partsOf(limits)
    .map((part) => part.code)
    .join('');
}

/** Every limit's numbers, in the order the rate scripts' contracts declare them (the `params` of each builder). */
export function limitParams(limits: readonly LimitSpec[], startLagMs: number): string[] {
  return partsOf(limits).flatMap(({ code, spec }) => BY_CODE[code]!.values(spec, startLagMs).map(String));
}

export interface RateScripts {
  reserve: Script;
  reserveMany: Script;
  /** reserveMany with fair shares, for a store that leases permits (reserveSharedArgv). */
  reserveShared: Script;
  refund: Script;
  charge: Script;
}

const cache = new Map<string, RateScripts>();

/** The rate scripts for requests whose limits use the algorithms of `sequence` (sequenceOf), in that order. */
export function rateScripts(sequence: string): RateScripts {
  let scripts = cache.get(sequence);
  if (scripts === undefined) {
    scripts = { reserve: reserveScript(sequence), reserveMany: reserveManyScript(sequence, false), reserveShared: reserveManyScript(sequence, true), refund: refundScript(sequence), charge: chargeScript(sequence) };
    cache.set(sequence, scripts);
  }
  return scripts;
}

/** What every rate script's ARGV begins with: the preamble's `now` and `ttlFloor`; after its own fields, the limits' numbers (limitParams). */
export interface RateArgs {
  /** ms on the caller's clock, or '' for Redis TIME. */
  readonly now: string;
  readonly ttlFloor: string;
  readonly params: readonly string[];
}

/** reserve's ARGV: the preamble's, `cost`, then the limits' numbers. */
export function reserveArgv(rate: RateArgs, cost: number): string[] {
  const argv = preambleArgv(rate.now, rate.ttlFloor);
  argv.push(String(cost));
  for (const value of rate.params) argv.push(value);
  return argv;
}

/** reserveMany's ARGV: the preamble's, `order`, the limits' numbers, then `costs`, one per request. */
export function reserveManyArgv(rate: RateArgs, order: 'fifo' | '' | number, costs: readonly number[]): string[] {
  const argv = preambleArgv(rate.now, rate.ttlFloor);
  argv.push(String(order));
  for (const value of rate.params) argv.push(value);
  for (const cost of costs) argv.push(String(cost));
  return argv;
}

/** What reserve-shared adds after `order`: this member, its demand and its share's settings (lua/fair-share.ts's SHARE_ARGV). */
export interface ShareArgs {
  readonly member: string;
  /** Units/ms; Infinity is sent as '' (more than it gets). */
  readonly demand: number;
  readonly capacity: number;
  readonly headroom: number;
  readonly shareTol: number;
  readonly keepMs: number;
}

/** reserve-shared's ARGV: the preamble's, `order`, the share's fields, the limits' numbers, then `costs`. */
export function reserveSharedArgv(rate: RateArgs, order: 'fifo' | '' | number, share: ShareArgs, costs: readonly number[]): string[] {
  const argv = preambleArgv(rate.now, rate.ttlFloor);
  argv.push(String(order), share.member, Number.isFinite(share.demand) ? String(share.demand) : '', String(share.capacity), String(share.headroom), String(share.shareTol), String(share.keepMs));
  for (const value of rate.params) argv.push(value);
  for (const cost of costs) argv.push(String(cost));
  return argv;
}

/** refund's ARGV: the preamble's, `cost`, `at` (undefined: the newest start), then the limits' numbers. */
export function refundArgv(rate: RateArgs, cost: number, at: number | undefined): string[] {
  const argv = preambleArgv(rate.now, rate.ttlFloor);
  argv.push(String(cost), at === undefined ? '' : String(at));
  for (const value of rate.params) argv.push(value);
  return argv;
}

/** charge's ARGV: the preamble's, `cost`, `at` (undefined: now), then the limits' numbers. */
export function chargeArgv(rate: RateArgs, cost: number, at: number | undefined): string[] {
  return refundArgv(rate, cost, at);
}

/**
 * A rate script's reply, 'ok,time,item…' split at the commas: the decision's Redis time
 * (decisionTime) and an item per request decided (itemCount, item). Read through these rather
 * than copied: a reply is decoded on every call.
 */
export type RateReply = readonly string[];

/** The Redis time of the decision (redisTime reads it). */
export function decisionTime(reply: RateReply): string {
  return reply[1]!;
}

/** How many requests the reply decided. */
export function itemCount(reply: RateReply): number {
  return reply.length - 2;
}

/** The answer to the `i`th request (0-based). */
export function item(reply: RateReply, i: number): string {
  return reply[i + 2]!;
}

/** Whether an item admitted its request: '0', or '0!' — a wait such as '0.5' did not. */
export function isAdmitted(item: string): boolean {
  return item === '0' || item === '0!';
}

/** Whether an admission must be checked for lateness ('0!': a sliding window at least LATE_CHECK_FILL full). */
export function mustCheckLate(item: string): boolean {
  return item === '0!';
}

/** A refusal's wait in ms, measured from the decision ('inf': never). */
export function waitOf(item: string): number {
  return item === 'inf' ? Number.POSITIVE_INFINITY : Number(item);
}
