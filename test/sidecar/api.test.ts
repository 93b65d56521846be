/**
 * The HTTP API of a real `chartsync serve` process: the original PoC's form calls unchanged,
 * bearer-token auth, input errors, body limit, metrics and health, restart keeping
 * registrations, and a graceful SIGTERM.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { updateTokenFor } from '@chartsync/api';
import { type FixtureRepo, fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

const TOKEN = 'api-test-token-7f3a9c';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let repo: FixtureRepo;
let sidecar: SidecarProcess;
let storage: string;

function serve(): Promise<SidecarProcess> {
  return startSidecarProcess({ args: ['--storage-dir', storage, '--allow-local-git'], token: TOKEN });
}

async function call(
  method: string,
  path: string,
  init: { form?: Record<string, string>; json?: unknown; token?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? TOKEN : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(sidecar.url + path, { method, headers, ...(body ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown>, text, headers: res.headers };
}

before(async () => {
  tmp = await tempDir('chartsync-api-');
  storage = join(tmp.path, 'storage');
  git = await startGitServers();
  repo = await git.repos.create('poc', { ...chartFiles('app', 'app'), ...chartFiles('tools/db', 'db') });
  sidecar = await serve();
});
after(async () => {
  await sidecar?.stop();
  await git?.stop();
  await tmp?.cleanup();
});

describe('the original PoC calls, unchanged', () => {
  test('form-encoded name+addr registers a dependency repository', async () => {
    const res = await call('POST', '/repo/dependency', {
      form: { name: 'stable', addr: 'https://charts.example.com/stable' },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {
      name: 'stable',
      url: 'https://charts.example.com/stable',
      hasCredentials: false,
    });
    const list = await call('GET', '/repo/dependency');
    assert.deepEqual(list.json, [
      { name: 'stable', url: 'https://charts.example.com/stable', hasCredentials: false },
    ]);
  });
  test('form-encoded name+git registers and syncs a repo', async () => {
    const res = await call('POST', '/repo/new', { form: { name: 'poc', git: fileUrl(repo) } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.name, 'poc');
    assert.deepEqual(
      (res.json.charts as { name: string; action: string }[]).map((c) => [c.name, c.action]),
      [
        ['app', 'published'],
        ['db', 'published'],
      ],
    );
  });
  test('GET /repo/<name>/update syncs again', async () => {
    const res = await call('GET', '/repo/poc/update');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.changed, false);
  });
  test('form paths restrict the scan (repeated keys and comma lists)', async () => {
    const body = new URLSearchParams([
      ['name', 'only-tools'],
      ['git', fileUrl(repo)],
      ['paths', 'tools'],
    ]);
    const res = await fetch(`${sidecar.url}/repo/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const json = (await res.json()) as { charts: { name: string }[] };
    assert.equal(res.status, 200);
    assert.deepEqual(
      json.charts.map((c) => c.name),
      ['db'],
    );
    assert.equal((await call('DELETE', '/repo/only-tools')).status, 200);
  });
});

describe('errors', () => {
  test('401 without or with a wrong bearer token, on every /repo route', async () => {
    for (const [method, path] of [
      ['GET', '/repo'],
      ['POST', '/repo/new'],
      ['GET', '/repo/poc/update'],
      ['DELETE', '/repo/poc'],
      ['GET', '/repo/dependency'],
    ] as const) {
      const missing = await call(method, path, { token: null });
      assert.equal(missing.status, 401, `${method} ${path}`);
      assert.equal(missing.json.error, 'unauthorized');
      const wrong = await call(method, path, { token: 'nope' });
      assert.equal(wrong.status, 401);
    }
    assert.equal((await call('GET', '/healthz', { token: null })).status, 200);
  });
  test('400 names the invalid field', async () => {
    const res = await call('POST', '/repo/new', { json: { name: 'Not_A_Label', git: fileUrl(repo) } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_input');
    assert.match(String(res.json.message), /name: must be a DNS-1123 label/);
    const bad = await call('POST', '/repo/new', { json: { name: 'x', git: 'ext::sh -c touch% /tmp/pwned' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /ext::|not allowed|transport/i);
    const json = await fetch(`${sidecar.url}/repo/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_input');
  });
  test('404 for unknown repos and dependencies', async () => {
    for (const [method, path] of [
      ['GET', '/repo/unknown'],
      ['GET', '/repo/unknown/update'],
      ['DELETE', '/repo/unknown'],
      ['DELETE', '/repo/dependency/unknown'],
    ] as const) {
      const res = await call(method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.error, 'not_found');
      assert.match(String(res.json.message), /unknown/);
    }
  });
  test('413 for a body over the limit', async () => {
    const res = await call('POST', '/repo/new', {
      json: { name: 'big', git: fileUrl(repo), sshKey: 'k'.repeat(2 * 1024 * 1024) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.json.error, 'payload_too_large');
  });
});

describe('registrations', () => {
  test('answers never contain secrets, the registry file is private', async () => {
    const res = await call('POST', '/repo/dependency', {
      json: {
        name: 'private',
        url: 'https://charts.example.com/private',
        username: 'u',
        password: 'dep-secret-pw',
      },
    });
    assert.equal(res.json.hasCredentials, true);
    assert.doesNotMatch((await call('GET', '/repo/dependency')).text, /dep-secret-pw/);
    assert.doesNotMatch((await call('GET', '/repo')).text, /dep-secret-pw/);
    assert.doesNotMatch(sidecar.logs.join('\n'), /dep-secret-pw/);
    const { mode } = await import('node:fs/promises').then((fs) =>
      fs.stat(join(storage, '.chartsync/registry.json')),
    );
    assert.equal(mode & 0o077, 0);
  });
  test('a restart keeps registrations and their last sync', async () => {
    const before = (await call('GET', '/repo/poc')).json;
    assert.equal(await sidecar.stop(), 0);
    sidecar = await serve();
    const after = await call('GET', '/repo/poc');
    assert.equal(after.status, 200);
    assert.equal(after.json.git, fileUrl(repo));
    assert.deepEqual(
      (after.json.lastSync as { commit: string }).commit,
      (before.lastSync as { commit: string }).commit,
    );
    const deps = (await call('GET', '/repo/dependency')).json as unknown as { name: string }[];
    assert.deepEqual(
      deps.map((d) => d.name),
      ['private', 'stable'],
    );
    const update = await call('POST', '/repo/poc/update');
    assert.equal(update.json.changed, false, 'the sync state survived the restart too');
    assert.match(await readFile(join(storage, 'poc/index.yaml'), 'utf8'), /name: app/);
  });
});

test('?async=true answers 202 at once and the result lands in lastSync', async () => {
  const before = (await call('GET', '/repo/poc')).json.lastSync as { at: string };
  const res = await call('GET', '/repo/poc/update?async=true');
  assert.equal(res.status, 202);
  assert.deepEqual(res.json, { name: 'poc', accepted: true });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const last = (await call('GET', '/repo/poc')).json.lastSync as { at: string; changed: boolean };
    if (last.at !== before.at) {
      assert.equal(last.changed, false);
      break;
    }
    assert.ok(Date.now() < deadline, 'the background update never finished');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await call('POST', '/repo/unknown/update?async=true')).status, 404);
});

test('POST /repo/new?async=true registers, answers 202 with the view while the first sync runs', async () => {
  const res = await call('POST', '/repo/new?async=true', { json: { name: 'later', git: fileUrl(repo) } });
  assert.equal(res.status, 202);
  const view = res.json as { name: string; syncing: boolean; lastSync?: unknown };
  assert.equal(view.name, 'later');
  assert.equal(view.syncing, true, 'the first sync is running when the answer comes');
  assert.equal(view.lastSync, undefined);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = (await call('GET', '/repo/later')).json as {
      syncing: boolean;
      lastSync?: { charts: unknown[] };
    };
    if (!got.syncing && got.lastSync) {
      assert.equal(got.lastSync.charts.length, 2);
      break;
    }
    assert.ok(Date.now() < deadline, 'the first sync never finished');
    await new Promise((r) => setTimeout(r, 50));
  }
  const bad = await call('POST', '/repo/new?async=true', { json: { name: 'Bad_Name', git: fileUrl(repo) } });
  assert.equal(bad.status, 400, 'input is checked before answering');
  assert.equal((await call('DELETE', '/repo/later')).status, 200);
});

test('health, readiness and metrics', async () => {
  assert.deepEqual((await call('GET', '/healthz', { token: null })).json, { status: 'ok' });
  assert.equal((await call('GET', '/readyz', { token: null })).status, 200);
  const metrics = (await call('GET', '/metrics', { token: null })).text;
  assert.match(metrics, /chartsync_syncs_total\{repo="poc",result="unchanged"\} \d+/);
  assert.match(metrics, /chartsync_sync_duration_seconds_bucket/);
  assert.match(
    metrics,
    /chartsync_http_requests_total\{method="POST",route="\/repo\/:name\/update",status="200"\} 1/,
  );
});

test('request logs are JSON lines with method, path and status', () => {
  const lines = sidecar.records().filter((r) => r.msg === 'request');
  assert.ok(lines.some((r) => r.method === 'POST' && r.path === '/repo/poc/update' && r.status === 200));
});

describe('scoped update tokens', () => {
  const pocToken = updateTokenFor(TOKEN, 'poc');

  test("an update token triggers its own repo's update (GET, POST, async, percent-encoded path)", async () => {
    assert.match(pocToken, /^update\.poc\.[A-Za-z0-9_-]{43}$/);
    assert.equal((await call('POST', '/repo/poc/update', { token: pocToken })).status, 200);
    assert.equal((await call('GET', '/repo/poc/update', { token: pocToken })).status, 200);
    assert.equal((await call('POST', '/repo/poc/update?async=true', { token: pocToken })).status, 202);
    assert.equal((await call('POST', '/repo/p%6Fc/update', { token: pocToken })).status, 200);
  });

  test('it is 403 Forbidden everywhere else: other repos, register, delete, list, dependencies', async () => {
    for (const [method, path] of [
      ['POST', '/repo/other/update'],
      ['GET', '/repo/poc2/update'],
      ['POST', '/repo/new'],
      ['DELETE', '/repo/poc'],
      ['GET', '/repo'],
      ['GET', '/repo/poc'],
      ['GET', '/repo/dependency'],
      ['POST', '/repo/dependency'],
      ['DELETE', '/repo/dependency/bitnami'],
      ['PUT', '/repo/poc/update'],
      ['POST', '/repo/poc/update/x'],
    ] as const) {
      const json = method === 'GET' ? undefined : { name: 'poc', git: fileUrl(repo) };
      const res = await call(method, path, { token: pocToken, json });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.json.error, 'forbidden');
      assert.equal(res.json.reason, 'Forbidden');
      assert.match(String(res.json.message), /only trigger updates of repository "poc"/);
    }
    assert.equal((await call('GET', '/repo/poc')).status, 200, 'the repository is still registered');
  });

  test('a forged or foreign update token is 401: the MAC binds the repo name to the admin token', async () => {
    const mac = pocToken.split('.')[2] as string;
    for (const forged of [
      `update.other.${mac}`,
      updateTokenFor('another-admin-token', 'poc'),
      `update.poc.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      `update.poc.${mac}x`,
      'update.poc.',
    ]) {
      const res = await call('POST', '/repo/poc/update', { token: forged });
      assert.equal(res.status, 401, forged);
      assert.equal(res.json.reason, 'Unauthorized');
    }
  });
});
