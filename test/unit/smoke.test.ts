import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VERSION } from '@chartsync/sidecar';

test('the sidecar package builds and exports its version', () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
});
