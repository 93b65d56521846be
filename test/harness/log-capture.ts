/** A debug-level JSON logger whose lines are collected parsed, for tests that check what was logged. */
import { PassThrough } from 'node:stream';
import { createLogger } from '@chartsync/sidecar/log';

export interface CapturedLine {
  git?: string;
  msg?: string;
  [field: string]: unknown;
}

export function captureLog(): { log: ReturnType<typeof createLogger>; lines: CapturedLine[] } {
  const stream = new PassThrough();
  const lines: CapturedLine[] = [];
  stream.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
  });
  return { log: createLogger({ level: 'debug', pretty: false, destination: stream }), lines };
}
