/** A user-facing CLI failure: printed as one line, exits non-zero. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'CliError';
  }
}
