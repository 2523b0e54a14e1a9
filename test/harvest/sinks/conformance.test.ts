// One contract, every sink (src/harvest/sinks/sink.ts): the same tables run against NDJSON,
// DuckDB, Parquet and Postgres. The guarantee under test: after a commit that fails at any
// instant, resume finds the previous commit whole — its state, and exactly the records
// committed up to it, none twice, none missing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CrashPoint } from '../../../src/harvest/crash-points.js';
import { OutputLockedError } from '../../../src/harvest/harvest-errors.js';
import { DuckDbSink } from '../../../src/harvest/sinks/duckdb.js';
import { NdjsonSink } from '../../../src/harvest/sinks/ndjson.js';
import { ParquetSink } from '../../../src/harvest/sinks/parquet.js';
import { PostgresSink } from '../../../src/harvest/sinks/postgres.js';
import type { ResourceSpec, Sink, StateCodec } from '../../../src/harvest/sinks/sink.js';
import { tempDir } from '../helpers.js';
import { dropSchema, sinkUrl, skipPostgres, uniqueSchema } from './pg-available.js';
import { duckdbRecords, parquetRecords, postgresRecords } from './read-back.js';

interface TestState {
  records: number;
  bytes: number;
  commits: number;
}

const codec: StateCodec<TestState> = {
  encode: (state) => JSON.stringify(state),
  decode: (text) => JSON.parse(text) as TestState,
};

function spec(options: Partial<ResourceSpec<TestState>> = {}): ResourceSpec<TestState> {
  return { name: 'items', codec, tailRecords: 1000, ...options };
}

/** A sink under test: a fresh place for it, and how to read back what it holds (records parsed, in order). */
interface SinkCase {
  name: string;
  skip: string | false;
  /** Whether `resume` gives the last records back as they came (Postgres keeps jsonb only). */
  exactTail: boolean;
  merges: boolean;
  /** The crash point between a commit's records and its state. */
  midCommit: CrashPoint;
  fresh(crash?: (point: CrashPoint) => void): { sink: () => Sink; records: () => Promise<unknown[]>; cleanup: () => Promise<void> };
}

const parsed = (texts: string[]): unknown[] => texts.map((text) => JSON.parse(text) as unknown);

const CASES: SinkCase[] = [
  {
    name: 'NDJSON',
    skip: false,
    exactTail: true,
    merges: false,
    midCommit: 'output-synced',
    fresh(crash) {
      const file = join(tempDir(), 'items.ndjson');
      return {
        sink: () => new NdjsonSink({ pathOf: () => file, crash }),
        records: async () => {
          const { bytes } = JSON.parse(readFileSync(`${file}.state.json`, 'utf8')) as TestState;
          return parsed(readFileSync(file, 'utf8').slice(0, bytes).split('\n').filter(Boolean));
        },
        cleanup: async () => {},
      };
    },
  },
  {
    name: 'DuckDB',
    skip: false,
    exactTail: true,
    merges: true,
    midCommit: 'sink-records-written',
    fresh(crash) {
      const file = join(tempDir(), 'items.duckdb');
      return { sink: () => new DuckDbSink(file, { crash }), records: async () => parsed(await duckdbRecords(file, 'items')), cleanup: async () => {} };
    },
  },
  {
    name: 'Parquet',
    skip: false,
    exactTail: true,
    merges: false,
    midCommit: 'sink-records-written',
    fresh(crash) {
      const dir = tempDir();
      return { sink: () => new ParquetSink(dir, { crash }), records: async () => parsed(await parquetRecords(join(dir, 'items'))), cleanup: async () => {} };
    },
  },
  {
    name: 'Postgres',
    skip: skipPostgres,
    exactTail: false,
    merges: true,
    midCommit: 'sink-records-written',
    fresh(crash) {
      const schema = uniqueSchema('conformance');
      return { sink: () => new PostgresSink(sinkUrl(schema), { crash }), records: () => postgresRecords(schema, 'items'), cleanup: () => dropSchema(schema) };
    },
  },
];

const rec = (id: number, version = 1): string => JSON.stringify({ id, version, name: `r${id}` });
const lengthOf = (records: string[]): number => records.reduce((n, r) => n + Buffer.byteLength(r) + 1, 0);

/** The state after committing `batch` on top of `state`. */
function after1(state: TestState, batch: string[]): TestState {
  return { records: state.records + batch.length, bytes: state.bytes + lengthOf(batch), commits: state.commits + 1 };
}

const ZERO: TestState = { records: 0, bytes: 0, commits: 0 };

for (const c of CASES) {
  describe(`sink contract: ${c.name}`, { skip: c.skip }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    const fresh = (crash?: (point: CrashPoint) => void): ReturnType<SinkCase['fresh']> => {
      const made = c.fresh(crash);
      cleanups.push(made.cleanup);
      return made;
    };
    after(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('a fresh resource resumes nothing; after reopening, it resumes the last commit with its records', async () => {
      const place = fresh();
      let sink = place.sink();
      let writer = await sink.open(spec());
      assert.equal(await writer.resume(), undefined);
      const batches = [[rec(1), rec(2)], [], [rec(3)]];
      let state = ZERO;
      await writer.commit([], state);
      for (const batch of batches) await writer.commit(batch, (state = after1(state, batch)));
      await writer.close();
      await sink.close();

      sink = place.sink();
      writer = await sink.open(spec());
      const resumed = await writer.resume();
      assert.deepEqual(resumed?.state, state);
      if (c.exactTail) assert.deepEqual(resumed?.lastRecords, batches.flat());
      await writer.close();
      await sink.close();
      assert.deepEqual(await place.records(), parsed(batches.flat()));
    });

    it('a second writer of the same resource is refused while the first is open', async () => {
      const place = fresh();
      const first = place.sink();
      const writer = await first.open(spec());
      const second = place.sink();
      await assert.rejects(
        second.open(spec()).then(async (w) => w.close()),
        OutputLockedError,
      );
      await second.close();
      await writer.close();
      await first.close();
    });

    if (c.merges) {
      it('merge: a record whose primary key is there replaces it, the last version in a commit winning', async () => {
        const place = fresh();
        const sink = place.sink();
        const writer = await sink.open(spec({ primaryKey: ['id'], write: 'merge' }));
        await writer.resume();
        let state = ZERO;
        for (const batch of [[rec(1), rec(2)], [rec(2, 2), rec(3), rec(3, 2), rec(1, 2)]]) await writer.commit(batch, (state = after1(state, batch)));
        await writer.close();
        await sink.close();
        const held = (await place.records()) as Array<{ id: number; version: number }>;
        assert.deepEqual(held.map((r) => [r.id, r.version]).sort(), [
          [1, 2],
          [2, 2],
          [3, 2],
        ]);
      });
    }

    it('property: a commit that fails at any instant leaves exactly the commits before it', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.nat(), async (ids, failAt) => {
          const batches = ids.map((batch) => batch.map((id) => rec(id)));
          const failing = failAt % batches.length;
          let armed = false;
          const place = fresh((point) => {
            if (armed && point === c.midCommit) throw new Error('crash');
          });
          let sink = place.sink();
          let writer = await sink.open(spec());
          await writer.resume();
          let state = ZERO;
          await writer.commit([], state);
          for (const [i, batch] of batches.entries()) {
            armed = i === failing && batch.length > 0;
            const next = after1(state, batch);
            try {
              await writer.commit(batch, next);
              state = next;
            } catch (error) {
              assert.equal((error as Error).message, 'crash');
              break;
            }
          }
          armed = false;
          await writer.close();
          await sink.close();
          sink = place.sink();
          writer = await sink.open(spec());
          const resumed = await writer.resume();
          await writer.close();
          await sink.close();
          assert.deepEqual(resumed?.state, state);
          assert.deepEqual(await place.records(), parsed(batches.slice(0, state.commits).flat()));
        }),
        { numRuns: 12 },
      );
    });
  });
}
