#!/usr/bin/env node
import v8 from 'node:v8';

// `serve` is a long-running service that mostly waits (on git, on build threads, on clients):
// V8 trades a little speed for a heap that grows far less between collections (sidecar peak RSS
// syncing 1,000 charts: 165 -> 149 MiB, see docs/sidecar.md, Performance). Set before any module loads, so
// the heap (and each build thread's) is sized with it from the start. The one-shot commands
// (`package`, `sync`) keep V8's defaults: they are CPU-bound and short.
if (process.argv[2] === 'serve') v8.setFlagsFromString('--optimize-for-size');
const { main } = await import('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`chartsync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
