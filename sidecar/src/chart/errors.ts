import type { Reason } from '@chartsync/api';
import { showName } from './byte-names.js';

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
    // A file name that is not UTF-8 (byte-names.ts) is shown with its bytes as `\xNN`.
    chart = showName(chart);
    file = showName(file);
    problem = showName(problem);
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
