/** Configuration: flags over the config file over the environment; errors name the field or flag. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseServeFlags, resolveServeConfig } from '@chartsync/sidecar/config';
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
  const cfg = await resolveServeConfig(
    parseServeFlags(['--config', join(repoRoot, 'examples/chartsync.yaml')]),
    {},
  );
  assert.equal(cfg.storageDir, join(repoRoot, 'examples/storage'));
  assert.equal(cfg.repos[0]?.name, 'mycharts');
  assert.equal(cfg.repos[0]?.everyMinutes, 15);
  assert.equal(cfg.dependencies[0]?.name, 'bitnami');
});

test('invalid configs are refused naming the field', async () => {
  const cases: [string, RegExp][] = [
    ['repos:\n  - name: Bad\n    git: https://x/y\n', /repos\.0 \(Bad\): name: must be a DNS-1123 label/],
    // the URL policy applies to the file as to the API (it was skipped)
    ['repos:\n  - name: a\n    git: http://x/y\n', /repos\.0 \(a\): git: git URL "http:\/\/x\/y" refused/],
    ['repos:\n  - name: a\n    git: "ext::sh"\n', /repos\.0 \(a\): git: .*remote helper/],
    ['repos:\n  - name: a\n    git: https://x/y\n    ref: --upload-pack=x\n', /repos\.0 \(a\): ref: /],
    [
      'repos:\n  - name: a\n    git: ssh://git:hunter2@x/y\n',
      /repos\.0 \(a\): git: ssh URLs cannot carry a password/,
    ],
    [
      'repos:\n  - name: a\n    git: https://x/y\n    everyMinutes: 7\n',
      /repos\.0 \(a\): schedule: everyMinutes 7 has no exact cron form/,
    ],
    ['repos:\n  - name: a\n    git: https://x/y\n  - name: a\n    git: https://x/z\n', /"a" is listed twice/],
    ['port: 3000\nstorgeDir: typo\n', /storgeDir/],
    ['dependencies:\n  - name: d\n', /dependencies\.0 \(d\): url: is required/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const file = join(tmp.path, `bad-${i}.yaml`);
    await writeFile(file, text);
    await assert.rejects(resolveServeConfig(parseServeFlags(['--config', file]), {}), message);
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
  assert.deepEqual(cfg.policy, {
    allowLocal: true,
    allowInsecure: false,
    // no local repository may be one of the sidecar's own clones
    privateDirs: [join(tmp.path, 'store/.chartsync'), join(tmp.path, 'store')],
  });
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
    /SIDECAR_TOKEN_FILE=.* is empty/,
  );
  // a body limit the parsers cannot read would be no limit at all: refused, naming the variable
  const limit = async (v?: string) =>
    (await resolveServeConfig(parseServeFlags([]), v === undefined ? {} : { SIDECAR_BODY_LIMIT: v }))
      .bodyLimit;
  assert.equal(await limit(), 1024 * 1024);
  assert.equal(await limit('2mb'), 2 * 1024 * 1024);
  assert.equal(await limit('512KB'), 512 * 1024);
  assert.equal(await limit('1Mi'), 1024 * 1024);
  assert.equal(await limit('4096'), 4096);
  for (const bad of ['1m', 'ten', '0', '-1mb', '1 megabyte'])
    await assert.rejects(limit(bad), /SIDECAR_BODY_LIMIT must be a size above 0/, bad);
  // a data dir a repo would publish into (and DELETE would wipe) is refused
  const dataAt = (dir: string) =>
    resolveServeConfig(parseServeFlags(['--storage-dir', join(tmp.path, 's'), '--data-dir', dir]), {});
  await assert.rejects(dataAt(join(tmp.path, 's')), /is the storage dir/);
  await assert.rejects(dataAt(join(tmp.path, 's/state')), /is the directory repo "state" would publish into/);
  await assert.rejects(dataAt(join(tmp.path, 's/data/inner')), /repo "data"/);
  assert.equal((await dataAt(join(tmp.path, 's/.chartsync'))).dataDir, join(tmp.path, 's/.chartsync'));
  assert.equal((await dataAt(join(tmp.path, 'd'))).dataDir, join(tmp.path, 'd'));
  assert.equal((await dataAt(join(tmp.path, 's/Upper'))).dataDir, join(tmp.path, 's/Upper'));
  await assert.rejects(
    resolveServeConfig(
      parseServeFlags(['--storage-dir', join(tmp.path, 'd/clones'), '--data-dir', join(tmp.path, 'd')]),
      {},
    ),
    /the storage dir .* is inside the data dir/,
  );
  // a blank token never means "no token": that would open the API
  await assert.rejects(resolveServeConfig(parseServeFlags(['--token', '']), {}), /--token is empty/);
  await assert.rejects(resolveServeConfig(parseServeFlags(['--token', ' \n']), {}), /--token is empty/);
  await assert.rejects(
    resolveServeConfig(parseServeFlags([]), { SIDECAR_TOKEN: '  ' }),
    /SIDECAR_TOKEN is blank/,
  );
  assert.equal((await resolveServeConfig(parseServeFlags(['--token', ' t0k ']), {})).token, 't0k');
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
  // A ChartMuseum URL the publisher could not use is a usage error naming the flag, at start,
  // and no message quotes its password.
  for (const [url, why] of [
    [
      'http://user:pa/ss@cm:8080/',
      /--chartmuseum-url "http:\/\/cm:8080\/": the user info of the URL is not percent-encoded/,
    ],
    ['http://[bad/', /--chartmuseum-url "http:\/\/\[bad\/": not a valid URL/],
    ['ftp://user:s3cret@cm/', /--chartmuseum-url must be an http\(s\) URL, got "ftp:\/\/cm\/"/],
  ] as const) {
    const err = await resolveServeConfig(parseServeFlags(['--chartmuseum-url', url]), {}).then(
      () => assert.fail(`${url} was accepted`),
      (e: Error) => e,
    );
    assert.equal(err.name, 'ConfigError', url);
    assert.match(err.message, why);
    assert.doesNotMatch(err.message, /pa\/ss|s3cret/);
  }
  await assert.rejects(
    resolveServeConfig(parseServeFlags(['--oci-url', 'oci://u:s3cret@r.example/x']), {}),
    (e: Error) => /--oci-url: .*user info .* is not allowed/.test(e.message) && !/s3cret/.test(e.message),
  );
  const secret = join(tmp.path, 'oci-password');
  await writeFile(secret, 'from-file\n');
  const oci = await resolveServeConfig(parseServeFlags(['--oci-url', 'oci://r.example:5000/charts/']), {
    OCI_USERNAME: 'robot',
    OCI_PASSWORD_FILE: secret,
  });
  assert.deepEqual(oci.oci, { url: 'oci://r.example:5000/charts', username: 'robot', password: 'from-file' });
  assert.equal(oci.storageDir, undefined);
  // The standalone config names the registry too; the login still comes from the environment.
  const ociFile = join(tmp.path, 'oci.yaml');
  await writeFile(
    ociFile,
    'ociUrl: oci://r.example/team\ndependencies:\n- name: hub\n  url: oci://mirror.internal/bitnamicharts\n  mirrorOf: oci://registry-1.docker.io/bitnamicharts\n',
  );
  const fromFile = await resolveServeConfig(parseServeFlags(['--config', ociFile]), { OCI_PASSWORD: 'pw' });
  assert.deepEqual(fromFile.oci, { url: 'oci://r.example/team', password: 'pw' });
  assert.equal(fromFile.dependencies[0]?.mirrorOf, 'oci://registry-1.docker.io/bitnamicharts');
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

test('serve with a config holding an invalid repo exits non-zero before listening, naming it', async () => {
  const file = join(tmp.path, 'bad-repo.yaml');
  const secret = 'cfg-secret-4e1d';
  await writeFile(
    file,
    `storageDir: ./store-bad\nrepos:\n  - name: good\n    git: https://example.com/ok.git\n  - name: insecure\n    git: http://bot:${secret}@example.com/charts.git\n`,
  );
  const started = Date.now();
  await assert.rejects(
    exec(process.execPath, [chartsyncScript, 'serve', '--config', file, '--port', '0'], { timeout: 20_000 }),
    (err: { code: number; stderr: string; stdout: string }) => {
      assert.equal(err.code, 2, `${err.stdout}\n${err.stderr}`);
      assert.match(
        err.stderr,
        /repos\.1 \(insecure\): git: git URL "http:\/\/example\.com\/charts\.git" refused/,
      );
      assert.match(err.stderr, /allowInsecureGit/);
      assert.doesNotMatch(`${err.stdout}${err.stderr}`, /sidecar listening/);
      assert.ok(!`${err.stdout}${err.stderr}`.includes(secret), 'the password is not echoed');
      return true;
    },
  );
  assert.ok(Date.now() - started < 20_000);
});

test('the build time box and threads come from the file over the environment; bad values are refused', async () => {
  const none = await resolveServeConfig(parseServeFlags([]), {});
  assert.deepEqual(none.build, {});
  const env = await resolveServeConfig(parseServeFlags([]), {
    CHARTSYNC_BUILD_TIMEOUT: '2.5',
    CHARTSYNC_BUILD_THREADS: '3',
  });
  assert.deepEqual(env.build, { timeoutMs: 2500, threads: 3 });
  const file = join(tmp.path, 'build.yaml');
  await writeFile(file, 'buildTimeoutSeconds: 90\nbuildThreads: 1\n');
  const fromFile = await resolveServeConfig(parseServeFlags(['--config', file]), {
    CHARTSYNC_BUILD_TIMEOUT: '2.5',
  });
  assert.deepEqual(fromFile.build, { timeoutMs: 90_000, threads: 1 });
  for (const [key, value] of [
    ['CHARTSYNC_BUILD_TIMEOUT', 'soon'],
    ['CHARTSYNC_BUILD_TIMEOUT', '0'],
    ['CHARTSYNC_BUILD_TIMEOUT', '-5'],
    ['CHARTSYNC_BUILD_THREADS', '1.5'],
    ['CHARTSYNC_BUILD_THREADS', '0'],
  ] as const) {
    await assert.rejects(resolveServeConfig(parseServeFlags([]), { [key]: value }), new RegExp(key));
  }
});

test('the checkout cap comes from the flag over the file over the environment; 1 GiB by default; zero and typos are refused', async () => {
  const resolve = async (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    (await resolveServeConfig(parseServeFlags(argv), env)).maxCheckoutSize;
  assert.equal(await resolve([]), 1024 ** 3);
  assert.equal(await resolve([], { CHARTSYNC_MAX_CHECKOUT_SIZE: '' }), 1024 ** 3);
  assert.equal(await resolve([], { CHARTSYNC_MAX_CHECKOUT_SIZE: '2Gi' }), 2 * 1024 ** 3);
  assert.equal(await resolve([], { CHARTSYNC_MAX_CHECKOUT_SIZE: '1048576' }), 1024 ** 2);
  const file = join(tmp.path, 'cap.yaml');
  await writeFile(file, 'maxCheckoutSize: 512Mi\n');
  const env = { CHARTSYNC_MAX_CHECKOUT_SIZE: '2Gi' };
  assert.equal(await resolve(['--config', file], env), 512 * 1024 ** 2);
  assert.equal(await resolve(['--config', file, '--max-checkout-size', '1.5Gi'], env), 1.5 * 1024 ** 3);
  await writeFile(file, 'maxCheckoutSize: 5000000\n');
  assert.equal(await resolve(['--config', file]), 5_000_000);
  for (const [argv, env, name] of [
    [['--max-checkout-size', '0'], {}, '--max-checkout-size'],
    [['--max-checkout-size=-5Mi'], {}, '--max-checkout-size'],
    [['--max-checkout-size', '2GB'], {}, '--max-checkout-size'],
    [[], { CHARTSYNC_MAX_CHECKOUT_SIZE: 'lots' }, 'CHARTSYNC_MAX_CHECKOUT_SIZE'],
  ] as const) {
    await assert.rejects(resolve([...argv], env), (err: Error) => {
      assert.equal(err.name, 'ConfigError');
      assert.match(err.message, new RegExp(`^${name} must be a size above 0`));
      return true;
    });
  }
  await writeFile(file, 'maxCheckoutSize: 0\n');
  await assert.rejects(resolve(['--config', file]), /^ConfigError: maxCheckoutSize must be a size above 0/);
});
