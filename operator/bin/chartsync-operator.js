#!/usr/bin/env node
import { main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    process.stderr.write(`chartsync-operator: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
