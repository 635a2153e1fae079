// A mistake in how the CLI was called: reported with the command's help hint, exit code 2.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
