// Reading a .gz task file through its open handle as a stream of its uncompressed bytes. A read error of the file
// (EIO) becomes an error of the returned stream, where the reader's loop sees it: piped by hand, it would be an
// 'error' event nobody listens to, which ends the whole process.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export function gunzipFile(handle: FileHandle): Readable {
  // autoClose false: the handle stays the caller's to close (destroying the read stream would close it: it is left
  // paused instead when the reader stops early)
  const source = handle.createReadStream({ autoClose: false, start: 0 });
  const gunzip = createGunzip();
  source.once('error', (error) => gunzip.destroy(error));
  return source.pipe(gunzip);
}
