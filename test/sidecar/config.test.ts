/** Configuration: flags over the config file over the environment; errors name the field or flag. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfigFile, parseServeFlags, resolveServeConfig } from '@chartsync/sidecar/config';
import { repoRoot, tempDir } from '../harness/paths.ts';
import { chartsyncScript } from '../harness/sidecar.ts';

const exec = promisify(execFile);
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await tempDir('chartsync-config-');
});
after(async () => {
  await tmp?.cleanup();
});

test('the example config is valid; relative paths are taken relative to the file', async () => {
  const cfg = await loadConfigFile(join(repoRoot, 'examples/chartsync.yaml'));
  assert.equal(cfg.storageDir, join(repoRoot, 'examples/storage'));
  assert.equal(cfg.repos[0]?.name, 'mycharts');
  assert.equal(cfg.repos[0]?.everyMinutes, 15);
  assert.equal(cfg.dependencies[0]?.name, 'bitnami');
});

test('invalid configs are refused naming the field', async () => {
  const cases: [string, RegExp][] = [
    ['repos:\n  - name: Bad\n    git: https://x/y\n', /repos\.0\.name: must be a DNS-1123 label/],
    [
      'repos:\n  - name: a\n    git: https://x/y\n    everyMinutes: 7\n',
      /repos\.0 \(a\): everyMinutes 7 has no exact cron form/,
    ],
    ['repos:\n  - name: a\n    git: https://x/y\n  - name: a\n    git: https://x/z\n', /"a" is listed twice/],
    ['port: 3000\nstorgeDir: typo\n', /storgeDir/],
    ['dependencies:\n  - name: d\n', /dependencies\.0\.url: is required/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const file = join(tmp.path, `bad-${i}.yaml`);
    await writeFile(file, text);
    await assert.rejects(loadConfigFile(file), message);
  }
});

test('flags win over the file, the token comes from SIDECAR_TOKEN_FILE, the data dir defaults next to the storage', async () => {
  const file = join(tmp.path, 'cfg.yaml');
  await writeFile(file, 'port: 4000\nstorageDir: ./store\nallowLocalGit: true\n');
  const tokenFile = join(tmp.path, 'token');
  await writeFile(tokenFile, 'from-file-token\n');
  const cfg = await resolveServeConfig(parseServeFlags(['--config', file, '--port', '4100']), {
    SIDECAR_TOKEN_FILE: tokenFile,
  });
  assert.equal(cfg.port, 4100);
  assert.equal(cfg.storageDir, join(tmp.path, 'store'));
  assert.equal(cfg.dataDir, join(tmp.path, 'store/.chartsync'));
  assert.equal(cfg.token, 'from-file-token');
  assert.deepEqual(cfg.policy, { allowLocal: true, allowInsecure: false });
  assert.equal(cfg.serveCharts, true);
  const cm = await resolveServeConfig(parseServeFlags(['--chartmuseum-url', 'http://cm:8080']), {
    CHARTMUSEUM_USERNAME: 'u',
    CHARTMUSEUM_PASSWORD: 'p',
  });
  assert.deepEqual(cm.chartmuseum, { url: 'http://cm:8080', username: 'u', password: 'p' });
  assert.equal(cm.storageDir, undefined);
  assert.equal(cm.serveCharts, false);
  const empty = join(tmp.path, 'empty-token');
  await writeFile(empty, '\n');
  await assert.rejects(
    resolveServeConfig(parseServeFlags([]), { SIDECAR_TOKEN_FILE: empty }),
    /SIDECAR_TOKEN_FILE .* is empty/,
  );
  await assert.rejects(
    resolveServeConfig(parseServeFlags(['--storage-dir', 'a', '--chartmuseum-url', 'http://x']), {}),
    /one of --storage-dir, --chartmuseum-url or --oci-url, not several/,
  );
  await assert.rejects(
    resolveServeConfig(
      parseServeFlags(['--oci-url', 'oci://r.example/x', '--chartmuseum-url', 'http://x']),
      {},
    ),
    /not several/,
  );
  await assert.rejects(
    resolveServeConfig(parseServeFlags(['--oci-url', 'oci://u:p@r.example/x']), {}),
    /--oci-url: .*not a registry host/,
  );
  const secret = join(tmp.path, 'oci-password');
  await writeFile(secret, 'from-file\n');
  const oci = await resolveServeConfig(parseServeFlags(['--oci-url', 'oci://r.example:5000/charts/']), {
    OCI_USERNAME: 'robot',
    OCI_PASSWORD_FILE: secret,
  });
  assert.deepEqual(oci.oci, { url: 'oci://r.example:5000/charts', username: 'robot', password: 'from-file' });
  assert.equal(oci.storageDir, undefined);
});

test('serve exits 2 with the problem and its usage on bad flags', async () => {
  await assert.rejects(
    exec(process.execPath, [chartsyncScript, 'serve', '--port', 'abc']),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--port must be 0-65535, got "abc"/);
      assert.match(err.stderr, /Usage: chartsync serve/);
      return true;
    },
  );
  const help = await exec(process.execPath, [chartsyncScript, 'serve', '--help']);
  assert.match(help.stdout, /--storage-dir DIR \| --chartmuseum-url URL/);
});
