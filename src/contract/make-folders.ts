// A folder and its missing parents, made one by one. Node's recursive mkdir tries again for ever when mkdir answers
// ENOENT for a folder whose parent is there, as every path under /proc does (`mkdirSync('/proc/x', { recursive: true
// })` spins at 100% CPU and never returns, Node 24): here a second ENOENT, once the parents are made, is the answer.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes `path` and its missing parents: true when it made `path`, false when a folder (or a link to one) was there.
 * Throws the mkdir error otherwise (EEXIST when something else has the name, ENOENT under /proc, EACCES, ...). */
export function makeFoldersSync(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return existingFolderSync(path, error);
    if (code(error) !== 'ENOENT' || dirname(path) === path) throw error;
  }
  makeFoldersSync(dirname(path));
  try {
    mkdirSync(path);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return existingFolderSync(path, error);
    throw error;
  }
}

/** makeFoldersSync, without blocking. */
export async function makeFolders(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return existingFolder(path, error);
    if (code(error) !== 'ENOENT' || dirname(path) === path) throw error;
  }
  await makeFolders(dirname(path));
  try {
    await mkdir(path);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return existingFolder(path, error);
    throw error;
  }
}

const code = (error: unknown) => (error as NodeJS.ErrnoException).code;

// something has the name: a folder (or a link to one) is the answer; a stat that fails throws its own error
function existingFolderSync(path: string, error: unknown): false {
  if (statSync(path).isDirectory()) return false;
  throw error;
}

async function existingFolder(path: string, error: unknown): Promise<false> {
  if ((await stat(path)).isDirectory()) return false;
  throw error;
}
