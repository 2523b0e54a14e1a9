/**
 * The refusals a harvest meets before it fetches anything, each with its own way out (and
 * its own exit code in the CLI). A bad option or path is core's ConfigError.
 */

/**
 * StateRefusedError: the state file, or the output it vouches for, cannot be trusted — not a
 * state file, written by another command, a field out of range (a hand edit), or an output
 * changed since. Nothing is fetched or written; the message names the file and the field.
 */
export class StateRefusedError extends Error {
  override name = 'StateRefusedError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/**
 * OutputLockedError: another harvest writes this output now (its lock names the process and
 * host), or did on another host, where this one cannot tell whether it still runs.
 */
export class OutputLockedError extends Error {
  override name = 'OutputLockedError';
}
