/** @chartsync/sidecar: the chart engine, git sync, publishers, HTTP API and CLI. */
export * from './chart/index.js';
export { VERSION } from './version.js';
