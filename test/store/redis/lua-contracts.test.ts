// Every Lua script declares its KEYS and ARGV in its header; a TypeScript builder beside it
// makes the ARGV. These tests read each header back from the script's source and check that
// every builder puts each field where the header says, so the two cannot drift. No Redis.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toLimitSpecs } from '../../../src/index.js';
import { adaptArgv, ADAPT, type AdaptArgs } from '../../../src/store/lua/adaptation.js';
import { acquireArgv, LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RENEW, releaseArgv, renewArgv } from '../../../src/store/lua/lease.js';
import { setDeadline } from '../../../src/store/lua/preamble.js';
import { limitParams, rateScripts, refundArgv, reserveArgv, reserveManyArgv, reserveSharedArgv, sequenceOf } from '../../../src/store/lua/rate.js';
import type { Script } from '../../../src/store/lua/script.js';

interface Header {
  keys: string[];
  argv: string[];
  /** The name of the ARGV after the named ones, if the script takes a list. */
  rest: string | undefined;
}

/** The header's declarations: `-- KEYS[n] name …`, `-- ARGV[n] name …`, `-- ARGV[n..] name …`, numbered from 1 without gaps. */
function headerOf(script: Script): Header {
  const header: Header = { keys: [], argv: [], rest: undefined };
  for (const line of script.source.split('\n')) {
    if (!line.startsWith('--')) break;
    const m = /^-- (KEYS|ARGV)\[(\d+)(\.\.)?\]\s+(\w+)/.exec(line);
    if (m === null) continue;
    const [, kind, n, rest, name] = m;
    const list = kind === 'KEYS' ? header.keys : header.argv;
    if (rest !== undefined) {
      assert.equal(Number(n), list.length + 1, `${script.name}: the list follows the last named ARGV`);
      header.rest = name;
    } else {
      assert.equal(Number(n), list.length + 1, `${script.name}: ${kind}[${n}] follows ${kind}[${list.length}]`);
      list.push(name!);
    }
  }
  return header;
}

/** Past the preamble (ARGV[1..3]) the body reads ARGV only through the locals declared from the header, or from `REST` on. */
function assertReadsByName(script: Script): void {
  const positional = script.source
    .split('\n')
    .filter((line) => !line.startsWith('--') && !/^local \w+ = (tonumber\()?ARGV\[\d+\]\)?$/.test(line) && /ARGV\[([4-9]|\d\d+)\]/.test(line));
  assert.deepEqual(positional, [], `${script.name} reads an ARGV by position`);
}

/** Checks that `argv` holds, at each place the header names, the value given for that name (then `rest`). */
function assertMatches(script: Script, argv: string[], values: Record<string, string | number>, rest: string[] = []): void {
  setDeadline(argv, String(values.deadline));
  const expected = headerOf(script).argv.map((name) => {
    assert.ok(name in values, `${script.name}: no value for ${name}`);
    return String(values[name]);
  });
  assert.deepEqual(argv, [...expected, ...rest], `${script.name}: the builder and the header disagree`);
}

describe('Lua contracts: each builder matches its script header', () => {
  it('the preamble: now, deadline and ttlFloor come first in every script', () => {
    for (const script of [ADAPT, LEASE_ACQUIRE, LEASE_RENEW, LEASE_RELEASE, ...Object.values(rateScripts('sgfw'))]) {
      assert.deepEqual(headerOf(script).argv.slice(0, 3), ['now', 'deadline', 'ttlFloor'], script.name);
      assertReadsByName(script);
    }
  });

  it('adapt: all 23 fields after the preamble, by name', () => {
    const header = headerOf(ADAPT);
    assert.deepEqual(header.keys, ['state']);
    assert.equal(header.argv.length, 26);
    // a distinct value per field: 101, 102, …
    const fields: Record<string, number> = Object.fromEntries(header.argv.slice(3).map((name, i) => [name, 101 + i]));
    assertMatches(ADAPT, adaptArgv('12.5', '60000', fields as AdaptArgs), { ...fields, now: '12.5', deadline: 'D', ttlFloor: '60000' });
  });

  it('the lease scripts: on Redis TIME, no TTL floor', () => {
    const preamble = { now: '', deadline: 'D', ttlFloor: '0' };
    assertMatches(LEASE_ACQUIRE, acquireArgv({ holder: 'h', limit: 5, leaseMs: 6 }), { ...preamble, holder: 'h', limit: 5, leaseMs: 6 });
    assertMatches(LEASE_RENEW, renewArgv({ leaseMs: 6 }, ['a', 'b']), { ...preamble, leaseMs: 6 }, ['a', 'b']);
    assert.equal(headerOf(LEASE_RENEW).rest, 'holders');
    assertMatches(LEASE_RELEASE, releaseArgv({ holder: 'h', channel: 'c' }), { ...preamble, holder: 'h', channel: 'c' });
    for (const script of [LEASE_ACQUIRE, LEASE_RENEW, LEASE_RELEASE]) assert.deepEqual(headerOf(script).keys, ['leases']);
  });

  it('the rate scripts, for every algorithm and smoothing, several limits at once', () => {
    const limits = toLimitSpecs(
      [
        { rate: '5/1s', algorithm: 'sliding-window', smooth: '500ms' },
        { rate: '50/1m', algorithm: 'gcra' },
        { rate: '500/1h', algorithm: 'fixed-window' },
      ],
      {},
    );
    const sequence = sequenceOf(limits);
    assert.equal(sequence, 'swgf');
    const scripts = rateScripts(sequence);
    const header = headerOf(scripts.reserve);
    assert.deepEqual(header.keys, ['part1', 'part2', 'part3', 'part4']);
    // the limits' numbers, by the names the header gives them (limitParams' order)
    const names = header.argv.slice(4);
    const params = limitParams(limits, 10);
    assert.deepEqual(names.slice(0, 6), ['limit1', 'e1', 'tol1', 'burst1', 'span1', 'q1']);
    assert.equal(names.length, params.length);
    const byName = Object.fromEntries(names.map((name, i) => [name, params[i]!]));
    const rate = { now: '12.5', ttlFloor: '60000', params };
    const values = { ...byName, now: '12.5', deadline: 'D', ttlFloor: '60000' };
    assertMatches(scripts.reserve, reserveArgv(rate, 7), { ...values, cost: 7 });
    assertMatches(scripts.reserveMany, reserveManyArgv(rate, 'fifo', [1, 2.5]), { ...values, order: 'fifo' }, ['1', '2.5']);
    assert.equal(headerOf(scripts.reserveMany).rest, 'costs');
    const share = { member: 'm', demand: 0.25, capacity: 0.005, headroom: 1.25, shareTol: 20, keepMs: 10 };
    assertMatches(scripts.reserveShared, reserveSharedArgv(rate, 3, share, [1, 2]), { ...values, order: 3, ...share }, ['1', '2']);
    assertMatches(scripts.reserveShared, reserveSharedArgv(rate, '', { ...share, demand: Infinity }, [1]), { ...values, order: '', ...share, demand: '' }, ['1']);
    assert.deepEqual(headerOf(scripts.reserveShared).keys, [...header.keys, 'members'], 'the members HASH is declared, last');
    assertMatches(scripts.refund, refundArgv(rate, 7, 8.5), { ...values, cost: 7, at: 8.5 });
    assert.deepEqual(headerOf(scripts.refund).keys, header.keys);
  });
});
