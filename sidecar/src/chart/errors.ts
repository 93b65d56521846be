import type { Reason } from '@chartsync/api';

/** The one error type of the chart engine: which chart, which file, what is wrong. */
export class ChartError extends Error {
  /** The chart's name when known, else its directory or archive path. */
  readonly chart: string;
  /** The file the problem is in, relative to the chart (or the chart path itself). */
  readonly file: string;
  readonly problem: string;
  /** The machine reason when it is not plain `InvalidChart` (e.g. `DependencyUnresolved`). */
  readonly reason: Reason | undefined;
  constructor(chart: string, file: string, problem: string, options?: { cause?: unknown; reason?: Reason }) {
    super(
      `chart ${chart}: ${file}: ${problem}`,
      options?.cause === undefined ? {} : { cause: options.cause },
    );
    this.reason = options?.reason;
    this.name = 'ChartError';
    this.chart = chart;
    this.file = file;
    this.problem = problem;
  }
}
