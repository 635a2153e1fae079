// A reader that closes the pipe early (`tasklogs ls | head -1`, `npm run example | head -1`) has all it wanted: the
// command's next write fails with EPIPE, which is success, not a crash with a stack trace.

/** Makes an EPIPE on stdout or stderr end the process quietly, with the exit code it had so far (0 when none). */
export function endQuietlyWhenPipeCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}
