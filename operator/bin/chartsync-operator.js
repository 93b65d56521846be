#!/usr/bin/env node
import { main } from '../dist/main.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`chartsync-operator: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
