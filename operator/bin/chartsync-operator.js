#!/usr/bin/env node
import v8 from 'node:v8';

// The operator waits on the network, it does not compute: V8 trades a little speed for a heap
// that grows far less between collections (peak RSS at 1,000 resources: see docs/operator.md).
// Set before the operator's modules load, so the heap is sized with it from the start.
v8.setFlagsFromString('--optimize-for-size');
const { main } = await import('../dist/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    process.stderr.write(`chartsync-operator: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
