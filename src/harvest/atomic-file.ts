import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CrashHook } from './crash-points.js';

/**
 * writeAtomically: replaces `path` with `text` so that a crash at any instant leaves either
 * the old file or the new one, whole: write a temp file, fsync it, rename it over `path`,
 * fsync the directory (so the rename itself survives a power cut).
 */
export async function writeAtomically(path: string, text: string, crash?: CrashHook): Promise<void> {
  const temp = `${path}.tmp`;
  const bytes = Buffer.from(text);
  const file = await open(temp, 'w');
  try {
    if (crash) {
      const half = bytes.length >> 1;
      await file.write(bytes, 0, half);
      crash('state-temp-partial');
      await file.write(bytes, half);
      crash('state-temp-written');
    } else {
      await file.write(bytes);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  crash?.('state-before-rename');
  await rename(temp, path);
  crash?.('state-renamed');
  await syncDirectory(dirname(path));
}

/** Removes a temp file a crash left behind; a missing one is fine. */
export async function removeStaleTemp(path: string): Promise<void> {
  await unlink(`${path}.tmp`).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Fsyncs a directory, so a file created or renamed in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
