// shutdownOnSignals: Ctrl-C (SIGINT) or SIGTERM runs one clean shutdown, once, then exits 0, or 1 when it failed.

export interface SignalShutdown {
  /** said when the first signal arrives, before stopping */
  announce: (signal: NodeJS.Signals) => void;
  /** the clean shutdown: close what is open, flush what is queued */
  stop: () => Promise<void>;
  /** told when stop() failed, before the exit with 1 */
  failed: (error: unknown) => void;
}

export function shutdownOnSignals(shutdown: SignalShutdown): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return; // a second Ctrl-C while flushing changes nothing
      stopping = true;
      shutdown.announce(signal);
      shutdown.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          shutdown.failed(error);
          process.exit(1);
        },
      );
    });
  }
}
