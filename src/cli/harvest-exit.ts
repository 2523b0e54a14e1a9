import { ConfigError } from '../core/errors.js';
import { OutputLockedError, StateRefusedError } from '../harvest/harvest-errors.js';
import type { HarvestOutcome } from '../harvest/engine.js';
import { OutputClosedError } from '../harvest/output.js';

/**
 * The exit codes of `sluice harvest`, one per thing a script may do about it (docs/harvest.md
 * has the table):
 * - 0 `complete`: every page written, and nothing the server said is missing.
 * - 1 `error`: the run stopped on an error it could not go past — a disk full or failing, Redis
 *   out of reach, an unexpected fault. What was written is consistent: run again to resume.
 * - 2 `usage`: a bad option, template or path, found before any request.
 * - 3 `incomplete`: the harvest ended and knows records are missing — pages failed or came
 *   back short, it stopped at a page, a loop, the server stated more than it served. The
 *   last line says what and how to go on.
 * - 4 `locked`: another harvest is writing this `--out`.
 * - 5 `state`: the state file or the output cannot be trusted (damaged, edited, another
 *   command's, the output changed since); nothing was touched.
 * - 130 `interrupted`: Ctrl-C or SIGTERM; the state is consistent, run again to resume.
 * - 141 `closed`: the reader of stdout went away (`| head`), as any command killed by SIGPIPE.
 */
export const EXIT = { complete: 0, error: 1, usage: 2, incomplete: 3, locked: 4, state: 5, interrupted: 130, closed: 141 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an error that ended the command. */
export function exitForError(error: unknown): ExitCode {
  if (error instanceof ConfigError) return EXIT.usage;
  if (error instanceof OutputLockedError) return EXIT.locked;
  if (error instanceof StateRefusedError) return EXIT.state;
  if (error instanceof OutputClosedError) return EXIT.closed;
  return EXIT.error;
}

/** The exit code for a harvest that ran to its end. */
export function exitForOutcome(outcome: HarvestOutcome): ExitCode {
  return outcome.gaps.length > 0 || !outcome.complete ? EXIT.incomplete : EXIT.complete;
}
