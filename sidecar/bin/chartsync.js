#!/usr/bin/env node
import { enableCompileCache } from '../dist/cli/compile-cache.js';

// Before anything else is loaded: the modules below come from the cache from the second run on.
enableCompileCache();
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
