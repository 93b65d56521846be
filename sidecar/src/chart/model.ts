/**
 * The in-memory model of a Helm chart, shared by the loader, the dependency resolver and the
 * packager. It mirrors helm's `chart.Chart` closely enough that packaging it yields what
 * `helm package` yields: the metadata (re-marshalled into Chart.yaml), the raw files in load
 * order, and subcharts, which helm writes back as directories under `charts/<name>/`.
 */

/** One `dependencies[]` entry of Chart.yaml (or requirements.yaml for apiVersion v1). */
export interface ChartDependency {
  name: string;
  version?: string;
  repository?: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  'import-values'?: unknown[];
  alias?: string;
}

/** Chart.yaml as data. Unknown keys are dropped, as helm's Go struct drops them. */
export interface ChartMetadata {
  apiVersion: string;
  name: string;
  version: string;
  [key: string]: unknown;
  dependencies?: ChartDependency[];
}

/** Chart.lock / requirements.lock as data. */
export interface ChartLock {
  generated: string;
  digest: string;
  /** Absent when the file has none (Go's nil slice, written `null`); `[]` is kept as `[]`. */
  dependencies?: { name: string; version: string; repository: string }[];
}

/** A file of the chart: its path relative to the chart root (forward slashes) and its bytes. */
export interface ChartFile {
  name: string;
  data: Buffer;
}

export interface LoadedChart {
  metadata: ChartMetadata;
  lock?: ChartLock;
  /** Every non-ignored file except Chart.yaml and subchart content, in helm's load order. */
  files: ChartFile[];
  /** Subcharts from `charts/` (directories and archives) plus resolved dependencies. */
  dependencies: LoadedChart[];
  /** Where it came from, for error messages: a directory or an archive path. */
  source: string;
}

/** A Helm chart repository that dependencies may be resolved from (`POST /repo/dependency`). */
export interface DependencyRepository {
  name: string;
  url: string;
  username?: string;
  password?: string;
  /** The public URL this repository mirrors: charts naming that URL resolve from `url`. */
  mirrorOf?: string;
  /** `oci://` only: PEM CA certificates trusted for this repository's registry host only. */
  caData?: string;
  /** `oci://` only: its registry host is spoken to over plain HTTP (helm's `--plain-http`). */
  insecurePlainHttp?: boolean;
  /**
   * The git repo whose syncs alone see this registration (registry/scope.ts); absent: shared.
   * During a sync, the repo's own registrations win over shared ones.
   */
  repo?: string;
}

export interface PackageOptions {
  /** mtime of every archive entry: the commit time in git, else SOURCE_DATE_EPOCH or a fixed epoch. */
  mtime: Date;
  /** Frees the buffers of large files once written (a build thread runs a full GC). */
  reclaim?: () => void;
  /** Resolve `dependencies` like `helm dependency build` before packaging. */
  dependencyUpdate?: boolean;
  repositories?: DependencyRepository[];
  /**
   * Names the run (a sync) whose charts share dependency lookups — indexes, registry tokens,
   * tag lists — also across build threads (chart/dependencies/run-cache.ts); unset: the run is
   * the `repositories` array shared by its charts.
   */
  runId?: string;
  /** Where downloaded dependency archives are cached between runs. */
  cacheDir?: string;
  /**
   * Every path read — the chart, its files, its `file://` dependencies — must resolve inside
   * this directory (the checkout, or the git work tree); unset: the chart directory itself.
   */
  repoRoot?: string;
  /** Deadline for each dependency repository request (index or archive); default 60 s. */
  dependencyTimeoutMs?: number;
  /** Where dependency resolution reports what it chose (debug level); a pino Logger fits. */
  logger?: BuildLog;
  /**
   * oci:// dependencies: the process-wide defaults (extra CA certificates trusted for every
   * registry, registries reached over plain HTTP); unset: from the environment (oci/settings.ts).
   */
  oci?: { caCerts?: string; plainHttp?: readonly string[] | boolean };
}

/** What identifies a packaged chart, wherever its bytes are. */
export interface ChartArchive {
  name: string;
  version: string;
  /** `<name>-<version>.tgz` */
  fileName: string;
  /** sha256 of the archive, hex. */
  digest: string;
  metadata: ChartMetadata;
}

/** The result of packaging one chart in memory. */
export interface PackagedChart extends ChartArchive {
  data: Buffer;
}

/** The result of packaging one chart into a file: large charts never sit in memory whole. */
export interface StagedChart extends ChartArchive {
  /** The archive on disk. */
  path: string;
  size: number;
}

/** The little of a logger a chart build uses (dependency choices, at debug level). */
export interface BuildLog {
  debug(fields: Record<string, unknown>, msg: string): void;
}
