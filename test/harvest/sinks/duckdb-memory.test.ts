// The DuckDB sink's memory: a harvest only writes its file, so the blocks DuckDB caches after
// writing them are of no use to it. Left at DuckDB's default (80 % of the machine's memory)
// the cache grew with the table: 1M records, the process from ~300 MB to ~470 MB over the
// run (bench/source-crash.bench.ts, BENCHMARKS.md). The sink bounds it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDbSink, DUCKDB_WRITER_MEMORY_LIMIT } from '../../../src/harvest/sinks/duckdb.js';
import type { StateCodec } from '../../../src/harvest/sinks/sink.js';
import { tempDir } from '../helpers.js';

const codec: StateCodec<{ records: number; bytes: number }> = { encode: (s) => JSON.stringify(s), decode: (t) => JSON.parse(t) as { records: number; bytes: number } };

/** DuckDB's memory_limit as bytes ('61.0 MiB' → 63,963,136). */
function bytesOf(setting: string): number {
  const m = /^([\d.]+)\s*(bytes|KiB|MiB|GiB|TiB)$/.exec(setting.trim());
  assert.ok(m, `a memory_limit DuckDB shows: ${setting}`);
  const unit = { bytes: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }[m[2] as 'bytes'];
  return Number(m[1]) * unit;
}

describe('DuckDB sink memory', () => {
  it('its database caches at most DUCKDB_WRITER_MEMORY_LIMIT, not DuckDB default of most of the machine', async () => {
    const sink = new DuckDbSink(join(tempDir(), 'memory.duckdb'));
    try {
      const writer = await sink.open({ name: 'items', codec, tailRecords: 0 });
      try {
        // The writer's connection is private: read the setting through it, where the sink opened the database.
        const { connection } = writer as unknown as { connection: DuckDBConnection };
        const rows = (await connection.runAndReadAll("SELECT current_setting('memory_limit') AS memory_limit")).getRowObjects();
        assert.ok(bytesOf(String(rows[0]?.memory_limit)) <= bytesOf(DUCKDB_WRITER_MEMORY_LIMIT.replace(/MB$/, ' MiB')));
        await writer.commit(['{"id":1}'], { records: 1, bytes: 9 });
      } finally {
        await writer.close();
      }
    } finally {
      await sink.close();
    }
  });
});
