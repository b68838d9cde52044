/**
 * One run at a time: calls made while a run is in progress share its promise instead of starting a
 * second one (a sweep triggered by a timer and by a test or a route at once does the work once).
 */
export class SingleFlight<T> {
  private running: Promise<T> | undefined;

  constructor(private readonly work: () => Promise<T>) {}

  /** The run in progress, or a new one. */
  run(): Promise<T> {
    this.running ??= this.work().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when no run is in progress (a failed run counts as finished): for shutdown. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
