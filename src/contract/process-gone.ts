// Whether a process id names no process on this host: a temp file, a lock file or a folder in the making that carries
// its writer's pid is left alone until then. Only ESRCH says so (EPERM is a live process of another user), and a pid
// that is not a positive integer is never taken for gone. A folder shared by several hosts can hold a live writer of
// another host under such a pid: the callers say what happens then.
export function processGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
