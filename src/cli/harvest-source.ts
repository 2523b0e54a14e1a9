import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { systemClock } from '../core/clock.js';
import { ConfigError, isAbortError } from '../core/errors.js';
import { scrub } from '../harvest/secrets.js';
import { parseSourceConfig } from '../harvest/source/parse-source.js';
import { SourceRun, type ResourceOutcome } from '../harvest/source/run-source.js';
import type { SourceConfig } from '../harvest/source/source-config.js';
import { HarvestRecorder, renderReport, startProgress } from '../harvest/visible/index.js';
import { openSink, sinkKindOf } from '../harvest/sinks/open-sink.js';
import type { Sink } from '../harvest/sinks/sink.js';
import { parseCommandArgs } from './args.js';
import { parseSourceFile } from './source-file.js';
import type { HarvestIo } from './harvest.js';
import { crashHookFromEnv } from './harvest-crash-hook.js';
import { EXIT, exitForError } from './harvest-exit.js';
import { checkReportPath } from './harvest-paths.js';

const USAGE = `usage: sluice harvest --config source.json|source.yaml --out DIR [--sink URL] [--report FILE] [--json] [--quiet]

Harvests every resource of a source file (client, auth, budgets, resources, parent→child
fan-out, incremental cursors) into DIR/<resource>.ndjson, each with its state file — or,
with --sink postgres://…, duckdb:FILE or parquet:DIR, into a table (or folder) per
resource, DIR then keeping only the logs parents' children are read from. Run the same
command again to resume, or to sync what changed. --report FILE writes the run as one HTML
page: the whole source's requests against its budget, and a row per resource.
docs/harvest-pipeline.md.
`;

/** Whether argv asks for a source file rather than one URL template. */
export function wantsSource(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--config' || a.startsWith('--config='));
}

/**
 * runSourceCommand: `sluice harvest --config FILE --out DIR`. Resolves with the exit code
 * (harvest-exit.ts), never rejects; the file is checked whole before any request.
 */
export async function runSourceCommand(argv: string[], io: HarvestIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (text: string): void => void stderr.write(text);
  let source: SourceConfig;
  let out: string;
  let sinkUrl: string | undefined;
  let report: string | undefined;
  let configPath = '';
  let json = false;
  let quiet = false;
  try {
    const { values: v } = parseCommandArgs('harvest', argv, { config: { type: 'string' }, out: { type: 'string', short: 'o' }, sink: { type: 'string' }, report: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } }, false);
    if (v.help) {
      stdout.write(USAGE);
      return EXIT.complete;
    }
    json = v.json ?? false;
    quiet = v.quiet ?? false;
    configPath = v.config!;
    source = await loadSource(configPath, env);
    if (v.out === undefined) throw new ConfigError('--out', undefined, 'is required with --config: the directory each resource is written into as <resource>.ndjson');
    out = v.out;
    const info = await stat(out).catch(() => undefined);
    if (info !== undefined && !info.isDirectory()) throw new ConfigError('--out', out, 'must be a directory with --config (each resource is a file in it)');
    await mkdir(out, { recursive: true });
    if (v.sink !== undefined) sinkKindOf(v.sink);
    sinkUrl = v.sink;
    if (v.report !== undefined) {
      // Never over a file the harvest keeps: a resource's records, state, lock, or a parent's log.
      for (const r of source.resources) {
        await checkReportPath(v.report, join(out, `${r.name}.ndjson`));
        await checkReportPath(v.report, join(out, `${r.name}.parents.ndjson`));
      }
      report = v.report;
    }
  } catch (error) {
    say(`sluice harvest: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitForError(error);
  }
  const clean = (error: unknown): string => scrub(error instanceof Error ? error.message : String(error), source.secrets);
  const clock = io.clock ?? systemClock;
  const recorder = new HarvestRecorder({ clock });
  const progress = quiet || json ? undefined : startProgress({ recorder, clock, stream: stderr });
  const controller = new AbortController();
  const interrupt = (): void => controller.abort(new Error('interrupted'));
  io.signal?.addEventListener('abort', interrupt, { once: true });
  if (!io.signal) {
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
  }
  let outcomes: ResourceOutcome[] | undefined;
  let code: number;
  let sink: Sink | undefined;
  try {
    const crash = crashHookFromEnv(env.SLUICE_HARVEST_CRASH);
    sink = sinkUrl === undefined ? undefined : await openSink(sinkUrl, { field: '--sink', crash });
    outcomes = await new SourceRun(source, out, { clock, fetch: io.fetch, monitor: recorder, signal: controller.signal, crash, sink }).run();
    code = outcomes.some((o) => o.incomplete.length > 0 || !o.complete) ? EXIT.incomplete : EXIT.complete;
  } catch (error) {
    code = controller.signal.aborted && (isAbortError(error) || error === controller.signal.reason) ? EXIT.interrupted : exitForError(error);
    if (code !== EXIT.interrupted) say(`sluice harvest: ${clean(error)}; what was committed is kept, run the same command again to resume\n`);
  } finally {
    await sink?.close().catch(() => {});
    progress?.stop();
    io.signal?.removeEventListener('abort', interrupt);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (report !== undefined) {
    try {
      await writeFile(report, renderReport({ title: `sluice harvest: ${basename(configPath)}`, source: scrub(source.client.baseUrl, source.secrets), options: { config: configPath, out, sink: sinkUrl === undefined ? undefined : scrub(sinkUrl, source.secrets) }, snapshot: recorder.snapshot(), timeline: recorder.timeline(), resources: outcomes ?? [] }));
    } catch (error) {
      say(`sluice harvest: could not write --report: ${clean(error)}\n`);
      if (code === EXIT.complete) code = EXIT.error;
    }
  }
  if (json) stdout.write(`${JSON.stringify({ ok: code === EXIT.complete, resources: outcomes ?? [] })}\n`);
  else if (outcomes && (!quiet || code !== EXIT.complete)) {
    for (const o of outcomes) say(`${o.name}: ${o.records} records in ${o.pages} pages (${o.synced ? `+${o.added} this run` : 'nothing to sync'})\n`);
  }
  for (const line of (outcomes ?? []).flatMap((o) => o.incomplete)) say(`sluice harvest: incomplete: ${clean(line)}\n`);
  if (code === EXIT.interrupted) say('sluice harvest: interrupted; run the same command again to resume\n');
  return code;
}

/** Reads and checks the source file (JSON, or YAML by its name); errors name the file and the path in it. */
async function loadSource(path: string, env: Record<string, string | undefined>): Promise<SourceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const json = await parseSourceFile(path, text);
  try {
    return parseSourceConfig(json, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path}: ${error.field}`, error.value, error.message.slice(error.field.length + 2).replace(/ \(got .*\)$/s, ''));
    throw error;
  }
}
