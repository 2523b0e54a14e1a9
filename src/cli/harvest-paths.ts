import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { lockPathOf } from '../harvest/output-lock.js';
import { failedPathOf, statePathOf } from '../harvest/state-file.js';

/**
 * checkReportPath: `--report` is checked for what it is before any request — a file in a
 * directory that exists, and none of the files the harvest keeps beside `--out` (its
 * output, state, temp state, failed pages, lock), by path or, through a link, by identity:
 * writing the report over one of them would destroy the harvest. Throws ConfigError.
 */
export async function checkReportPath(report: string, out: string | undefined): Promise<void> {
  const info = await stat(report).catch(() => undefined);
  if (info?.isDirectory()) throw new ConfigError('--report', report, 'is a directory; give the path of a file, e.g. --report report.html');
  if (info !== undefined && !info.isFile()) throw new ConfigError('--report', report, 'is not a regular file');
  const dir = await stat(dirname(report)).catch(() => undefined);
  if (dir === undefined || !dir.isDirectory()) throw new ConfigError('--report', report, `is in a directory that does not exist (${dirname(report)})`);
  if (out === undefined) return;
  for (const own of [out, statePathOf(out), `${statePathOf(out)}.tmp`, failedPathOf(out), lockPathOf(out)]) {
    const same = resolve(own) === resolve(report) || (info !== undefined && (await sameFile(info, own)));
    if (same) throw new ConfigError('--report', report, `is ${own}, a file of the harvest itself; choose another path`);
  }
}

async function sameFile(info: { dev: number; ino: number }, path: string): Promise<boolean> {
  const other = await stat(path).catch(() => undefined);
  return other !== undefined && other.dev === info.dev && other.ino === info.ino;
}
