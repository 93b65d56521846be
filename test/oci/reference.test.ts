/**
 * `oci://` URLs that carry a secret — user info, a query or a fragment — are refused without
 * quoting it: the message reaches start-up errors, sync results, API answers and logs.
 * Three ways in: a Chart.yaml dependency, the `--oci-url` publish target, the parser itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageChart } from '@chartsync/sidecar';
import { parseServeFlags, resolveServeConfig } from '@chartsync/sidecar/config';
import { parseOciUrl } from '@chartsync/sidecar/oci';
import { MTIME } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { tempDir } from '../harness/paths.ts';

const SECRET = 's3cr3t-Pa55';
const URLS = [
  `oci://user:${SECRET}@registry.example.com/charts`,
  `oci://${SECRET}@registry.example.com`,
  `oci://registry.example.com/charts?token=${SECRET}`,
  `oci://registry.example.com:5000/charts#${SECRET}`,
  `oci://registry.example.com?${SECRET}`,
];

describe('oci:// URLs holding a secret', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('chartsync-oci-ref-');
  });
  after(async () => tmp?.cleanup());

  test('the parser names what is not allowed and never quotes it', () => {
    for (const url of URLS) {
      assert.throws(
        () => parseOciUrl(url),
        (err: Error) => {
          assert.doesNotMatch(err.message, new RegExp(SECRET), url);
          assert.match(err.message, /user info|query or fragment/, url);
          return true;
        },
      );
    }
  });

  test('a Chart.yaml dependency: the chart fails without the secret in its error', async () => {
    let i = 0;
    for (const url of URLS) {
      const dir = await writeChart(join(tmp.path, `app-${i++}`, 'app'), {
        name: 'app',
        version: '1.0.0',
        dependencies: [{ name: 'common', version: '2.x.x', repository: url }],
      });
      await assert.rejects(
        packageChart(dir, { mtime: MTIME, dependencyUpdate: true, repositories: [] }),
        (err: Error) => {
          assert.match(err.message, /dependency 'common'/);
          assert.doesNotMatch(err.message, new RegExp(SECRET), url);
          return true;
        },
      );
    }
  });

  test('--oci-url: the start-up error does not print the secret', async () => {
    for (const url of URLS) {
      await assert.rejects(
        resolveServeConfig(parseServeFlags(['--oci-url', url, '--data-dir', tmp.path]), {}),
        (err: Error) => {
          assert.match(err.message, /^--oci-url: /);
          assert.doesNotMatch(err.message, new RegExp(SECRET), url);
          return true;
        },
      );
    }
  });

  test('a port beyond 65535 is refused by the parser, not by every request later', () => {
    assert.throws(
      () => parseOciUrl('oci://registry.example.com:99999/charts'),
      /is not a registry host\[:port\]/,
    );
    assert.deepEqual(parseOciUrl('oci://registry.example.com:65535/charts'), {
      registry: 'registry.example.com:65535',
      path: 'charts',
    });
  });
});
