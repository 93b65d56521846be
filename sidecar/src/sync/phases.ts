/** Milliseconds spent in each phase of a sync, for the debug log line that explains slow syncs. */
export class PhaseTimer {
  private last = performance.now();
  readonly spent: Record<string, number> = {};

  mark(phase: string): void {
    const now = performance.now();
    this.spent[phase] = Math.round((this.spent[phase] ?? 0) + (now - this.last));
    this.last = now;
  }
}
