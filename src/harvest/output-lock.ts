import { hostname } from 'node:os';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { OutputLockedError } from './harvest-errors.js';

/** What a lock file holds: who writes the output, since when. */
interface Holder {
  pid: number;
  host: string;
  /** ISO time the lock was taken, for the message. */
  since: string;
}

/** The lock file next to an output: `<out>.lock`. */
export function lockPathOf(out: string): string {
  return `${out}.lock`;
}

/**
 * OutputLock: one harvest writes an output at a time. `take` creates `<out>.lock` (with
 * O_EXCL, so of two runs starting together one wins) holding this process's pid and host;
 * `release` removes it. A lock left by a process that died without releasing it (`kill -9`,
 * a power cut) is recognised on the same host by its pid being gone, and taken over. A lock
 * from another host cannot be judged from here — on a shared disk that run may be alive —
 * so it is refused, naming the holder and how to remove the lock once it is known to be
 * stale.
 */
export class OutputLock {
  private constructor(
    private readonly path: string,
    private readonly mine: string,
  ) {}

  /** Takes the lock of `out`. Throws OutputLockedError when another live harvest holds it. */
  static async take(out: string): Promise<OutputLock> {
    const path = lockPathOf(out);
    const mine = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder)}\n`;
    // Two rounds: the second follows the removal of a stale lock.
    for (let round = 0; round < 2; round++) {
      if (await create(path, mine)) return new OutputLock(path, mine);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released in between
      const holder = parse(text);
      if (holder !== undefined && holder.host !== hostname()) {
        throw new OutputLockedError(`${out} is locked by a harvest on host ${holder.host} (pid ${holder.pid}, since ${holder.since}); if none runs there any more, remove ${path}`);
      }
      if (holder !== undefined && alive(holder.pid)) {
        throw new OutputLockedError(`${out} is being written by another harvest (pid ${holder.pid}, since ${holder.since}); wait for it to end, or stop it — a harvest stopped with Ctrl-C or kill resumes when run again`);
      }
      // An unreadable lock is one a crash cut short, or one being written this instant.
      if (holder === undefined && (await ageMs(path)) < FRESH_MS) break;
      await removeStale(path, text);
    }
    throw new OutputLockedError(`${out} is being locked and unlocked by other harvests as this one starts; try again`);
  }

  /** Removes the lock, if it is still this process's. */
  async release(): Promise<void> {
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    if (text === this.mine) await unlink(this.path).catch(() => {});
  }
}

/** How long an unreadable lock may be one that another harvest is still writing. */
const FRESH_MS = 5000;

async function ageMs(path: string): Promise<number> {
  return stat(path).then((s) => Date.now() - s.mtimeMs, () => Number.POSITIVE_INFINITY);
}

/** Creates the lock file if there is none; false when one exists. */
async function create(path: string, text: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await file.writeFile(text);
  } finally {
    await file.close();
  }
  return true;
}

/**
 * Removes a stale lock — a dead holder's, or an unreadable one a crash left half written —
 * but only the one judged. One run at a time may remove a lock: it takes `<lock>.break`
 * (O_EXCL), reads the lock again and removes it only if it is still the one judged. A run
 * that finds `.break` taken leaves the lock to that run. (Moving the lock aside and back,
 * as this did before, could put a live lock back over one another run had just taken: two
 * holders.) A `.break` older than FRESH_MS is one a run died holding, and is removed.
 */
async function removeStale(path: string, judged: string): Promise<void> {
  const breaker = `${path}.break`;
  const mine = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder)}\n`;
  if (!(await create(breaker, mine))) {
    if ((await ageMs(breaker)) < FRESH_MS) return; // another run is removing it now
    await unlink(breaker).catch(() => {});
    if (!(await create(breaker, mine))) return;
  }
  try {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === judged) await unlink(path).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

function parse(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (Number.isSafeInteger(value.pid) && typeof value.host === 'string') return { pid: value.pid!, host: value.host, since: String(value.since) };
  } catch {
    // A lock file cut short by a crash as it was written: stale.
  }
  return undefined;
}

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
