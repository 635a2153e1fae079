// RejectionLog: webhook requests that did not become tasks (bad signature, malformed, no command, ...). Counted by
// provider and reason, with a bounded sample of the latest, all in memory: an unauthenticated flood costs no disk.
export interface Rejection {
  at: string;
  provider: string;
  /** a short stable reason, such as signature_invalid or no_command */
  reason: string;
  status: number;
  delivery_id?: string;
  event_type?: string;
  remote?: string;
}

const SAMPLE = 100;

export class RejectionLog {
  readonly #counts = new Map<string, number>();
  readonly #recent: Rejection[] = [];

  record(rejection: Omit<Rejection, 'at'>): void {
    const key = `${rejection.provider}:${rejection.reason}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#recent.push({ at: new Date().toISOString(), ...rejection });
    if (this.#recent.length > SAMPLE) this.#recent.shift();
  }

  snapshot(): { counts: Record<string, Record<string, number>>; recent: Rejection[] } {
    const counts: Record<string, Record<string, number>> = {};
    for (const [key, n] of this.#counts) {
      const [provider, reason] = key.split(':') as [string, string];
      counts[provider] ??= {};
      counts[provider][reason] = n;
    }
    return { counts, recent: [...this.#recent].reverse() };
  }
}
