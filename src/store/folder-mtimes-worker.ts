// The worker thread of FolderMtimesThread: for each root it is sent, the folders listed, handed back.
import { parentPort } from 'node:worker_threads';
import { readFolderMtimes } from './folder-mtimes.ts';

const port = parentPort;
if (port === null) throw new Error('folder-mtimes-worker.ts runs only as a worker thread');
port.on('message', (root: string) => {
  const listed = readFolderMtimes(root);
  port.postMessage(listed, [listed.mtimes.buffer]);
});
