export const HARVEST_USAGE = `usage: sluice harvest <url-template> [options]

Pulls every page of a paginated JSON API into NDJSON (one record a line), at the rate the
API allows, and resumes after any crash. docs/harvest.md has the whole guide.

pagination:
  --paginate MODE     offset | page | cursor | link (default: from the template's {offset}, {page}, {cursor})
  --page-size N       records per page, the template's {limit} (default 100)
  --first-page N      {page} of the first page (default 1)
  --items PATH        the records array in the body (default: the body if an array, else results|data|items|records|entries)
  --next PATH         the next cursor or URL in the body (cursor: required; link: instead of the Link header)
  --total PATH        the total record count (default: count|total|total_count|totalCount or X-Total-Count)
  --max-pages N       stop after N pages in all (default: no limit)

pace and retries:
  --rate R            e.g. 100/1m; repeat for several limits (default: none of ours)
  --no-adapt          pace at --rate exactly; by default --rate is a ceiling, adapted to the server's headers and 429s
  --arrival-jitter D  how unevenly late requests may reach the server, e.g. 50ms (default 2 % of the window,
                      at most 100ms; widened by a 429 while the whole rate was in use; 0: exact on our clock)
  --concurrency C     pages in flight, a number or auto (default auto)
  --retries N         retries per request after the first attempt (default 4)
  --timeout D         per attempt, headers and body, e.g. 30s (default 30s)
  --redis URL --key K share the --rate limit with other processes through Redis

requests:
  --header 'N: V'     a request header; $VAR and \${VAR} are taken from the environment (repeatable)
  --allow-origin O    an origin next links and redirects may lead to besides the template's (repeatable)
  --max-body SIZE     largest response body, e.g. 32mb (default 32mb)

output:
  --out FILE          NDJSON output, resumable; state in FILE.state.json, one writer at a time (FILE.lock)
                      (default: stdout, no resume)
  --sink URL          records into a database or Parquet instead, exactly-once and resumable:
                      postgres://USER@HOST:PORT/DB[?schema=NAME], duckdb:FILE or parquet:DIR
                      (table or folder 'records'; needs the pg, @duckdb/node-api or
                      hyparquet-writer package)
  --primary-key F,G   fields that identify a record, kept as columns by --sink
  --write MODE        append (default) or merge: replace the record with the same
                      --primary-key (postgres, duckdb)
  --retry-failed      fetch the pages listed as failed (FILE.failed.ndjson) again
  --report FILE       a self-contained HTML report with charts
  --json              the summary as one JSON object (on stdout with --out, else on stderr)
  --quiet             no progress line or summary (errors still print)

exit codes: 0 complete; 1 stopped on an error (run again to resume); 2 a bad option,
template or path (nothing was fetched); 3 incomplete: records are known to be missing (the
last lines say what and how to get them); 4 another harvest is writing --out; 5 the state
file or output cannot be trusted; 130 interrupted; 141 stdout was closed by its reader.
`;
