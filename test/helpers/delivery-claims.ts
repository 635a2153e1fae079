// Ages every delivery claim and body digest in a logs folder's deliveries database, as if they were made `ms` ago:
// the redelivery rules look at how old a claim is.
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function ageDeliveryClaims(logsDir: string, ms: number): void {
  const deliveries = new DatabaseSync(join(logsDir, '.deliveries.sqlite'), { timeout: 5000 });
  try {
    const then = Date.now() - ms;
    deliveries.prepare('UPDATE deliveries SET created_at = ?').run(new Date(then).toISOString());
    deliveries.prepare('UPDATE body_digests SET created_ms = ?').run(then);
  } finally {
    deliveries.close();
  }
}
