import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { systemClock, type Clock } from '../core/clock.js';
import { isAbortError } from '../core/errors.js';
import type { FetchFn } from '../http/fetch-options.js';
import { Harvest, type HarvestOutcome } from '../harvest/engine.js';
import { scrub } from '../harvest/secrets.js';
import { describeSink, sinkFileOf } from '../harvest/sinks/open-sink.js';
import { failedPathOf } from '../harvest/state-file.js';
import { formatSummary, gapLines, HarvestRecorder, renderReport, startProgress, summaryJson, type ProgressStream } from '../harvest/visible/index.js';
import { HelpRequested, parseHarvestArgs, type HarvestCommand } from './harvest-args.js';
import { crashHookFromEnv } from './harvest-crash-hook.js';
import { EXIT, exitForError, exitForOutcome } from './harvest-exit.js';
import { checkReportPath } from './harvest-paths.js';
import { openRedisStore } from './harvest-redis.js';
import { HARVEST_USAGE } from './harvest-usage.js';

export interface HarvestIo {
  /** Records (without --out) and the --json summary. Default process.stdout. */
  stdout?: Writable | undefined;
  /** Progress, summary and errors. Default process.stderr. */
  stderr?: ProgressStream | undefined;
  env?: Record<string, string | undefined>;
  /** Stops the harvest as Ctrl-C would (the CLI listens for SIGINT/SIGTERM itself). */
  signal?: AbortSignal | undefined;
  fetch?: FetchFn | undefined;
  clock?: Clock | undefined;
}

export { EXIT } from './harvest-exit.js';

/**
 * runHarvestCommand: `sluice harvest <url-template> [options]`. Resolves with the exit
 * code (harvest-exit.ts); never rejects. Every error ends in one line naming what to do,
 * never a stack trace. Everything it prints or writes is redacted of header values and URL
 * credentials.
 */
export async function runHarvestCommand(argv: string[], io: HarvestIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (text: string): void => void stderr.write(text);
  ignoreErrorsOf(stdout);
  let command: HarvestCommand;
  try {
    command = parseHarvestArgs(argv, env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      stdout.write(HARVEST_USAGE);
      return EXIT.complete;
    }
    say(`sluice harvest: ${error instanceof Error ? error.message : String(error)}\n(sluice harvest --help lists the options)\n`);
    return EXIT.usage;
  }
  const { config } = command;
  const secrets = Object.values(config.headers);
  const clean = (error: unknown): string => scrub(error instanceof Error ? error.message : String(error), secrets);
  const clock = io.clock ?? systemClock;

  let redis: Awaited<ReturnType<typeof openRedisStore>> | undefined;
  let harvest: Harvest;
  try {
    const crash = crashHookFromEnv(env.SLUICE_HARVEST_CRASH);
    if (command.report !== undefined) await checkReportPath(command.report, config.out ?? (config.sink === undefined ? undefined : sinkFileOf(config.sink)));
    harvest = await Harvest.open(config, { clock, stdout, ...(io.fetch ? { fetch: io.fetch } : {}), ...(crash ? { crash } : {}) });
  } catch (error) {
    say(`sluice harvest: ${clean(error)}\n`);
    return exitForError(error);
  }
  try {
    if (command.redis) {
      redis = await openRedisStore(command.redis.url);
      config.store = redis.store;
      config.key = command.redis.key;
    }
  } catch (error) {
    await harvest.close().catch(() => {});
    say(`sluice harvest: ${clean(error)}\n`);
    return exitForError(error);
  }

  const recorder = new HarvestRecorder({ clock, ...(harvest.resumed ? { resumed: harvest.resumed } : {}) });
  const progress = command.quiet ? undefined : startProgress({ recorder, clock, stream: stderr });
  const controller = new AbortController();
  const interrupt = (): void => controller.abort(new Error('interrupted'));
  const external = io.signal;
  external?.addEventListener('abort', interrupt, { once: true });
  if (!external) {
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
  }

  let outcome: HarvestOutcome | undefined;
  let code: number;
  let failure: string | undefined;
  try {
    outcome = await harvest.run(recorder, controller.signal);
    code = exitForOutcome(outcome);
  } catch (error) {
    code = controller.signal.aborted && (isAbortError(error) || error === controller.signal.reason) ? EXIT.interrupted : controller.signal.aborted ? EXIT.interrupted : exitForError(error);
    if (code !== EXIT.interrupted) failure = clean(error);
  } finally {
    progress?.stop();
    external?.removeEventListener('abort', interrupt);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await harvest.close().catch(() => {});
    await redis?.close();
  }

  const snapshot = recorder.snapshot();
  const output = config.out ?? (config.sink === undefined ? undefined : describeSink(config.sink));
  const failedFile = config.out !== undefined && (outcome?.failed.length ?? 0) > 0 ? failedPathOf(config.out) : undefined;
  const incomplete = outcome ? gapLines(outcome.gaps, config.out === undefined ? undefined : failedPathOf(config.out), config.sink === undefined ? undefined : describeSink(config.sink)) : [];
  const ended = code === EXIT.interrupted ? ('interrupted' as const) : outcome === undefined ? ('stopped' as const) : incomplete.length > 0 ? ('incomplete' as const) : undefined;
  const meta = {
    ...(output !== undefined ? { out: output } : {}),
    ...(failedFile ? { failedFile } : {}),
    ...(ended ? { ended } : {}),
    incomplete,
    retryFailed: config.paginate === 'offset' || config.paginate === 'page',
  };
  if (command.report) {
    try {
      await writeFile(command.report, renderReport({ title: `sluice harvest: ${config.source}`, source: config.source, options: command.shown, snapshot, timeline: recorder.timeline() }));
    } catch (error) {
      say(`sluice harvest: could not write --report: ${clean(error)}\n`);
      code = code === EXIT.complete ? EXIT.error : code;
    }
  }
  if (code === EXIT.closed) return code; // the reader went away: nothing more to say to it
  if (command.json) {
    // Records own stdout when there is no --out; the summary then goes to stderr.
    const text = `${JSON.stringify(summaryJson(snapshot, meta))}\n`;
    if (output === undefined) say(text);
    else stdout.write(text);
  } else if (!command.quiet || code !== EXIT.complete) {
    say(formatSummary(snapshot, meta));
  }
  if (failure !== undefined) say(`sluice harvest: ${failure}; what was written is kept, run the same command again to resume\n`);
  if (outcome?.alreadyComplete && incomplete.length === 0) say(`sluice harvest: ${output} was already complete\n`);
  for (const line of incomplete) say(`sluice harvest: incomplete: ${line}\n`);
  if (code === EXIT.interrupted) say('sluice harvest: interrupted; run the same command again to resume\n');
  return code;
}

const quieted = new WeakSet<Writable>();

/**
 * A reader that goes away (`| head`) makes the stream emit 'error' (EPIPE); unheard, that
 * ends the process with a stack trace. The harvest learns of it from its writes instead.
 */
function ignoreErrorsOf(stream: Writable): void {
  if (quieted.has(stream)) return;
  quieted.add(stream);
  stream.on('error', () => {});
}
