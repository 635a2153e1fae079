// Leftovers in the logs folder's .new~ (see src/contract/new-folders.ts): folders a killed writer made for a new task
// and never renamed into place. They are not tasks and no reader looks at them; the next writer removes them in the
// background. prune removes them too (a logs folder whose writers no longer start is cleared by it), and verify
// counts them. Only through the folder opened without following a link: a link at .new~ is never followed, and a link
// in it is removed as the link it is.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isNewFolderLeftover, NEW_FOLDERS_DIR } from '../contract/new-folders.ts';
import { type OpenFolder, openFolderFd } from '../contract/safe-open.ts';

/** The names in .new~ that are leftovers (their writer gone, or stale); none when there is no .new~. Throws when
 * .new~ is no folder (UNSAFE_PATH: a link, a file) or cannot be read. */
export function findNewFolderLeftovers(root: string, now = Date.now()): Promise<string[]> {
  return inNewFolders(root, (folder) => leftoversIn(folder, now), []);
}

/** Removes the leftovers in .new~; returns how many it removed. A leftover that could not be removed is in `errors`
 * and left for the next run (or writer). Throws as findNewFolderLeftovers. */
export function removeNewFolderLeftovers(root: string, errors: unknown[], now = Date.now()): Promise<number> {
  return inNewFolders(
    root,
    async (folder) => {
      let removed = 0;
      for (const name of await leftoversIn(folder, now)) {
        try {
          // a link is removed itself, never followed (rm takes the entry as lstat sees it)
          await rm(folder.pathOf(name), { recursive: true, force: true });
          removed++;
        } catch (error) {
          errors.push(folder.explain(error));
        }
      }
      return removed;
    },
    0,
  );
}

// `use` on .new~ opened without following a link; `none` when there is no .new~
async function inNewFolders<T>(root: string, use: (folder: OpenFolder) => Promise<T>, none: T): Promise<T> {
  let folder: OpenFolder;
  try {
    folder = await openFolderFd(join(root, NEW_FOLDERS_DIR));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return none;
    throw error;
  }
  try {
    return await use(folder);
  } finally {
    await folder.close().catch(() => undefined);
  }
}

async function leftoversIn(folder: OpenFolder, now: number): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(folder.path)) {
    const stat = await lstat(folder.pathOf(name)).catch(() => undefined);
    if (stat !== undefined && isNewFolderLeftover(name, now - stat.mtimeMs)) found.push(name);
  }
  return found;
}
