/** The chart engine: load, validate, package and index Helm charts exactly like helm does. */

export { decodeName, fsPath, isUtf8Name, nameBytes, showName } from './byte-names.js';
export {
  type ArchiveDifference,
  type CompareOptions,
  compareArchives,
  listArchive,
} from './compare-archives.js';
export { DiscoveryError, discoverCharts } from './discover.js';
export { ChartError } from './errors.js';
export { findGitRoot } from './git-root.js';
export { BadPatternError, goMatch } from './go-match.js';
export { compareKeys, type EmitValue, emitGoYaml } from './go-yaml-emit.js';
export { HELMIGNORE, type IgnoreRules, parseHelmignore } from './helmignore.js';
export {
  buildIndex,
  type IndexEntry,
  type IndexFile,
  type IndexInput,
  indexDirectory,
  joinUrl,
  marshalIndex,
  writeIndexFile,
} from './index-file.js';
export { MAX_DECOMPRESSED_CHART_SIZE, MAX_DECOMPRESSED_FILE_SIZE } from './limits.js';
export { loadChartArchive, readArchiveFiles } from './load-archive.js';
export { loadChartDir } from './load-dir.js';
export type * from './model.js';
export { chartMtime, FIXED_EPOCH, lastCommitTime, sourceDateEpoch } from './mtime.js';
export { checkDependenciesPresent, packageChart, packageChartToFile, packageLoadedChart } from './package.js';
export { archiveEntries, marshalChartYaml, saveChart, writeChartArchive } from './save.js';
export { confine, isInside, PathEscapeError, resolveRoot } from './secure-path.js';
export { archiveFileName, checkServable, validateChart } from './validate.js';
export { compareVersions, isValidVersion, parseVersion, toVersion } from './version.js';
export {
  checkYamlDocument,
  flowNestingOver,
  formatFloat32,
  type GoValue,
  parseGoYaml,
  parseYaml,
  resolveGoScalar,
  YamlError,
} from './yaml.js';
export { mayHoldOddKey } from './yaml-fast-path.js';
