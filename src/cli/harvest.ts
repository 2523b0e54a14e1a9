import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError, isAbortError } from '../core/errors.js';
import type { FetchFn } from '../http/fetch-options.js';
import { Harvest, type HarvestOutcome } from '../harvest/engine.js';
import { scrub } from '../harvest/secrets.js';
import { failedPathOf } from '../harvest/state-file.js';
import { formatSummary, HarvestRecorder, renderReport, startProgress, summaryJson, type ProgressStream } from '../harvest/visible/index.js';
import { HelpRequested, parseHarvestArgs, type HarvestCommand } from './harvest-args.js';
import { crashHookFromEnv } from './harvest-crash-hook.js';
import { openRedisStore } from './harvest-redis.js';
import { HARVEST_USAGE } from './harvest-usage.js';

export interface HarvestIo {
  /** Records (without --out) and the --json summary. Default process.stdout. */
  stdout?: Writable;
  /** Progress, summary and errors. Default process.stderr. */
  stderr?: ProgressStream;
  env?: Record<string, string | undefined>;
  /** Stops the harvest as Ctrl-C would (the CLI listens for SIGINT/SIGTERM itself). */
  signal?: AbortSignal;
  fetch?: FetchFn;
  clock?: Clock;
}

/** Exit codes: 0 every page written; 1 a page failed, or the run stopped on an error; 2 a bad option, before any request; 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * runHarvestCommand: `sluice harvest <url-template> [options]`. Resolves with the exit
 * code; never rejects. Everything it prints or writes is redacted of header values and
 * URL credentials.
 */
export async function runHarvestCommand(argv: string[], io: HarvestIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (text: string): void => void stderr.write(text);
  let command: HarvestCommand;
  try {
    command = parseHarvestArgs(argv, env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      stdout.write(HARVEST_USAGE);
      return EXIT.ok;
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
    if (command.redis) {
      redis = await openRedisStore(command.redis.url);
      config.store = redis.store;
      config.key = command.redis.key;
    }
    harvest = await Harvest.open(config, { clock, stdout, ...(io.fetch ? { fetch: io.fetch } : {}), ...(crash ? { crash } : {}) });
  } catch (error) {
    await redis?.close();
    say(`sluice harvest: ${clean(error)}\n`);
    return error instanceof ConfigError ? EXIT.usage : EXIT.failed;
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
  try {
    outcome = await harvest.run(recorder, controller.signal);
    code = outcome.failed.length > 0 || !outcome.complete ? EXIT.failed : EXIT.ok;
  } catch (error) {
    code = controller.signal.aborted && isAbortError(error) ? EXIT.interrupted : controller.signal.aborted ? EXIT.interrupted : EXIT.failed;
    if (code === EXIT.failed) say(`\nsluice harvest: ${clean(error)}\n`);
  } finally {
    progress?.stop();
    external?.removeEventListener('abort', interrupt);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await harvest.close().catch(() => {});
    await redis?.close();
  }

  const snapshot = recorder.snapshot();
  const failedFile = config.out !== undefined && (outcome?.failed.length ?? 0) > 0 ? failedPathOf(config.out) : undefined;
  const ended = code === EXIT.interrupted ? ('interrupted' as const) : outcome === undefined || !outcome.complete ? ('stopped' as const) : undefined;
  const meta = { ...(config.out !== undefined ? { out: config.out } : {}), ...(failedFile ? { failedFile } : {}), ...(ended ? { ended } : {}) };
  if (command.report) {
    try {
      await writeFile(command.report, renderReport({ title: `sluice harvest: ${config.source}`, source: config.source, options: command.shown, snapshot, timeline: recorder.timeline() }));
    } catch (error) {
      say(`sluice harvest: could not write --report: ${clean(error)}\n`);
      code = code === EXIT.ok ? EXIT.failed : code;
    }
  }
  if (command.json) {
    // Records own stdout when there is no --out; the summary then goes to stderr.
    const text = `${JSON.stringify(summaryJson(snapshot, meta))}\n`;
    if (config.out === undefined) say(text);
    else stdout.write(text);
  } else if (!command.quiet || code !== EXIT.ok) {
    say(formatSummary(snapshot, meta));
  }
  if (outcome?.alreadyComplete && !command.json) say(`sluice harvest: ${config.out} was already complete${outcome.failed.length > 0 ? `; ${outcome.failed.length} failed page(s) remain: --retry-failed fetches them again` : ''}\n`);
  else if (outcome && !outcome.complete && outcome.failed.length > 0 && !command.json) say(`sluice harvest: stopped at a page that failed; run the same command again to resume from it\n`);
  if (code === EXIT.interrupted) say('sluice harvest: interrupted; run the same command again to resume\n');
  return code;
}
