// Records the promise rejections nobody handled while the calling file's tests run (registered in beforeAll, removed
// in afterAll): a test then checks the returned list is empty.
import { afterAll, beforeAll } from 'vitest';

export function recordUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  return unhandled;
}
