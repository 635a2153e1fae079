// withTimeout: a promise raced against a timer that is cleared either way and never keeps the process alive.

/**
 * Settles as `promise` does, unless `ms` pass first: then with what `onTimeout` returns, or rejected with what it
 * throws. The promise itself goes on (nothing here can cancel it); a later rejection of it is not unhandled.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
