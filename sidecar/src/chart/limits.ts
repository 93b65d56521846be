/**
 * The chart engine's size caps, in one place. The two content caps are helm's (pkg/chart/loader):
 * they guard against decompression bombs, and every loader applies both — the archive loader
 * while decompressing, the directory loader while walking, the packager on what it writes — so
 * nothing chartsync publishes is refused by its own archive loader or by helm.
 */
export const MAX_DECOMPRESSED_CHART_SIZE = 100 * 1024 * 1024;
export const MAX_DECOMPRESSED_FILE_SIZE = 5 * 1024 * 1024;

/**
 * Go's JSON scanner stops at this nesting depth: helm reads values.yaml through JSON, and checks
 * values.schema.json with json.Valid, so both fail past it.
 */
export const GO_JSON_MAX_DEPTH = 10_000;

/**
 * The content budget of one chart, counted like helm's archive loader: the chart is refused
 * once its files add up to the cap (helm fails when the remaining size reaches zero). One
 * budget covers a chart and every subchart archive unpacked while loading it: helm gives each
 * nested archive a cap of its own, so a 4 KB archive of copies of one small archive that unpacks
 * to 30 MB held gigabytes in memory before the packager's check on the total refused it.
 */
export class ChartSizeBudget {
  private remaining = MAX_DECOMPRESSED_CHART_SIZE;
  /** Bytes that may still be taken. */
  get left(): number {
    return this.remaining;
  }
  /** Takes `size` bytes; false when the chart would reach the cap. */
  take(size: number): boolean {
    if (size > this.remaining) return false;
    this.remaining -= size;
    return this.remaining > 0;
  }
}

export const CHART_TOO_LARGE = `decompressed chart is larger than the maximum size ${MAX_DECOMPRESSED_CHART_SIZE}`;

/** NAME_MAX of the file systems charts are stored on (ext4, xfs, S3 keys' last segment…). */
export const MAX_FILE_NAME_BYTES = 255;
/**
 * The longest `<name>-<version>.tgz` accepted: room is kept for the names derived from it, the
 * atomic writer's `.<file>.<12 hex>.tmp` (18 bytes) of a `.prov` file (5 more).
 */
export const MAX_ARCHIVE_NAME_BYTES = MAX_FILE_NAME_BYTES - 23;

/**
 * The matching work `.helmignore` may cost one chart, in byte comparisons over all its files
 * (go-match.ts counts them). Go's algorithm is polynomial, but thousands of star patterns times
 * thousands of long names would still hold a build for minutes. This allows well under a
 * second of matching (docs/chart-engine.md has the measurements), orders of magnitude above
 * what real charts need.
 */
export const MAX_HELMIGNORE_STEPS = 50_000_000;
