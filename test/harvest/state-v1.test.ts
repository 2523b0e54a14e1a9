import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Harvest } from '../../src/harvest/engine.js';
import { nullMonitor } from '../../src/harvest/null-monitor.js';
import { configOf, fakeApi, tempDir } from './helpers.js';
import { V1_CASES } from './state-v1/cases.js';

const FIXTURES = join(import.meta.dirname, 'state-v1', 'fixtures');

interface Expected {
  outcome: unknown;
  resumed: unknown;
  requests: string[];
  failedFile: string | null;
}

describe('a state file written by version 1 (98db5db) resumes as that version resumed it', () => {
  for (const c of V1_CASES) {
    it(c.name, async () => {
      const dir = tempDir();
      const out = join(dir, 'out.ndjson');
      const fixture = join(FIXTURES, c.name);
      for (const file of readdirSync(fixture)) if (file.startsWith('out.')) copyFileSync(join(fixture, file), join(dir, file));
      const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as Expected;
      const api = c.resume?.() ?? fakeApi(57);
      const harvest = await Harvest.open(configOf([...c.args, ...(c.resumeArgs ?? []), '--out', out]), { fetch: api.fetch });
      const outcome = await harvest.run(nullMonitor);
      await harvest.close();
      assert.equal(readFileSync(out, 'utf8'), readFileSync(join(fixture, 'expected.ndjson'), 'utf8'));
      // The outcome as version 1 knew it; gaps (added since) are what it knows is missing: failed pages, or a stop.
      const { gaps, ...known } = outcome;
      assert.deepEqual(JSON.parse(JSON.stringify(known)), expected.outcome);
      assert.equal(gaps.length > 0, outcome.failed.length > 0);
      assert.deepEqual(harvest.resumed ?? null, expected.resumed);
      // Pages fetched in parallel may start in any order: the set is what must not change.
      assert.deepEqual([...api.requests].sort(), [...expected.requests].sort());
      assert.equal(existsSync(`${out}.failed.ndjson`) ? readFileSync(`${out}.failed.ndjson`, 'utf8') : null, expected.failedFile);
    });
  }
});
