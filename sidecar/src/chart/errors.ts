/** The one error type of the chart engine: which chart, which file, what is wrong. */
export class ChartError extends Error {
  /** The chart's name when known, else its directory or archive path. */
  readonly chart: string;
  /** The file the problem is in, relative to the chart (or the chart path itself). */
  readonly file: string;
  readonly problem: string;
  constructor(chart: string, file: string, problem: string, options?: { cause?: unknown }) {
    super(`chart ${chart}: ${file}: ${problem}`, options);
    this.name = 'ChartError';
    this.chart = chart;
    this.file = file;
    this.problem = problem;
  }
}
