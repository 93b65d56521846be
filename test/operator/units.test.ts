/** Edge cases of the operator's pure parts (the behaviour itself is proven end to end elsewhere). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ErrorCode, REASONS, SidecarError, type Reason as SidecarReason } from '@chartsync/api';
import {
  type Chartmuseum,
  claimedNames,
  DEFAULT_SCHEDULE,
  desiredCronJob,
  Freshness,
  hasDrifted,
  isAnnounced,
  loadAccess,
  loadConfig,
  outcomeOfError,
  outcomeOfRepoView,
  outcomeOfSync,
  ownerOf,
  scheduleOf,
  setCondition,
  stableJson,
  statusForCache,
  statusPatch,
  WorkQueue,
} from '@chartsync/operator';
import { operatorBin } from '../harness/paths.ts';

function cm(
  name: string,
  created: string,
  spec: Partial<Chartmuseum['spec']> = {},
  status?: Chartmuseum['status'],
): Chartmuseum {
  return {
    apiVersion: 'cm.bitnami.com/v1alpha1',
    kind: 'Chartmuseum',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: created, generation: 1 },
    spec: { git: 'https://example.com/r.git', ...spec },
    ...(status ? { status } : {}),
  };
}

describe('schedule', () => {
  it('maps updateEveryMinutes to exact cron expressions', () => {
    const every = (updateEveryMinutes: number) => scheduleOf({ git: 'x', updateEveryMinutes });
    assert.equal(every(15), '*/15 * * * *');
    assert.equal(every(1), '* * * * *');
    assert.equal(every(60), '0 * * * *');
    assert.equal(every(120), '0 */2 * * *');
    assert.equal(every(1440), '0 0 * * *');
    assert.throws(() => every(45), /updateEveryMinutes 45 .*spec\.schedule/);
    assert.throws(() => every(90), /spec\.schedule/);
  });
  it('prefers spec.schedule, defaults to hourly', () => {
    assert.equal(scheduleOf({ git: 'x', schedule: '5 4 * * *' }), '5 4 * * *');
    assert.equal(scheduleOf({ git: 'x' }), DEFAULT_SCHEDULE);
  });
});

describe('repoName ownership', () => {
  it('the oldest claimant owns a free name', () => {
    const a = cm('a', '2024-01-01T00:00:00Z', { repoName: 'r' });
    const b = cm('b', '2024-01-02T00:00:00Z', { repoName: 'r' });
    assert.equal(ownerOf('r', [b, a])?.metadata.name, 'a');
  });
  it('the holder keeps the name even against an older claimant', () => {
    const older = cm('older', '2024-01-01T00:00:00Z', { repoName: 'r' });
    const holder = cm('holder', '2024-02-01T00:00:00Z', { repoName: 'r' }, { repoName: 'r' });
    assert.equal(ownerOf('r', [older, holder])?.metadata.name, 'holder');
  });
  it('a renamed resource keeps claiming its old name until it cleaned it up', () => {
    const renamed = cm('x', '2024-01-01T00:00:00Z', { repoName: 'new' }, { repoName: 'old' });
    assert.deepEqual(claimedNames(renamed), ['new', 'old']);
    const waiting = cm('y', '2023-01-01T00:00:00Z', { repoName: 'old' });
    assert.equal(ownerOf('old', [renamed, waiting])?.metadata.name, 'x');
  });
});

describe('status', () => {
  it('lastTransitionTime moves only when the status flips', () => {
    const t1 = new Date('2024-01-01T00:00:00Z');
    const t2 = new Date('2024-01-01T01:00:00Z');
    const c1 = setCondition(
      undefined,
      'Ready',
      { status: 'False', reason: 'GitAuthFailed', message: 'a' },
      1,
      t1,
    );
    const c2 = setCondition(
      c1,
      'Ready',
      { status: 'False', reason: 'SidecarUnavailable', message: 'b' },
      2,
      t2,
    );
    assert.equal(c2[0]?.lastTransitionTime, t1.toISOString());
    assert.equal(c2[0]?.reason, 'SidecarUnavailable');
    const c3 = setCondition(c2, 'Ready', { status: 'True', reason: 'Synced', message: 'c' }, 2, t2);
    assert.equal(c3[0]?.lastTransitionTime, t2.toISOString());
    assert.equal(c3.length, 1);
  });
  it('the merge patch removes keys with null and is empty when nothing changed', () => {
    assert.deepEqual(statusPatch({ repoName: 'a', url: 'u' }, { url: 'u' }), { status: { repoName: null } });
    assert.equal(
      statusPatch({ charts: [{ name: 'a', version: '1' }] }, { charts: [{ version: '1', name: 'a' }] }),
      undefined,
    );
  });
  it('a status from the cache holds a digest of the charts, and the patch compares with it', () => {
    const charts = [
      { name: 'a', version: '1' },
      { name: 'b', version: '2' },
    ];
    const cached = statusForCache({ repoName: 'r', charts, chartCount: 2 });
    assert.equal(cached.charts, undefined, 'the list itself is not kept');
    assert.deepEqual(JSON.parse(JSON.stringify(cached)), { repoName: 'r', chartCount: 2 });
    assert.equal(statusPatch(cached, { repoName: 'r', charts: [...charts], chartCount: 2 }), undefined);
    // `next` built from the cached status without new charts: nothing to write either.
    assert.equal(statusPatch(cached, { ...cached }), undefined);
    const moved = [{ name: 'a', version: '1' }];
    assert.deepEqual(statusPatch(cached, { repoName: 'r', charts: moved, chartCount: 2 }), {
      status: { charts: moved },
    });
    assert.deepEqual(statusPatch(cached, { repoName: 'r', chartCount: 2 }), { status: { charts: null } });
  });
  it('every Ready transition gets an Event except a first observation of Unknown', () => {
    const progressing = { status: 'Unknown', reason: 'Progressing', message: 'm' } as const;
    const synced = { status: 'True', reason: 'Synced', message: 'm' } as const;
    const failed = { status: 'False', reason: 'GitFailed', message: 'm' } as const;
    const now = new Date();
    const cond = (o: typeof synced | typeof progressing | typeof failed) =>
      setCondition(undefined, 'Ready', o, 1, now)[0];
    assert.equal(isAnnounced(undefined, progressing), false);
    assert.equal(isAnnounced(undefined, synced), true);
    assert.equal(isAnnounced(undefined, failed), true);
    assert.equal(isAnnounced(cond(progressing), synced), true);
    assert.equal(isAnnounced(cond(synced), progressing), true, 'back to Unknown from a known state');
    assert.equal(isAnnounced(cond(synced), synced), false);
  });
});

describe('cache freshness', () => {
  it('a resource the operator wrote is read from the cache only once the cache holds that write', () => {
    const f = new Freshness();
    assert.equal(f.current('ns/a', '10'), true, 'never written: the cache is as good as a read');
    f.wrote('ns/a');
    assert.equal(f.current('ns/a', '10'), false, 'a write in flight');
    f.wrote('ns/a', '12');
    assert.equal(f.current('ns/a', '10'), false, 'the cache still has the version before the write');
    assert.equal(f.current('ns/a', '12'), true, 'the cache has the write');
    assert.equal(f.current('ns/a', '10'), true, 'from then on the cache is followed (watch order)');
  });
  it('a write that failed waits for a read from the API server; a deleted resource is forgotten', () => {
    const f = new Freshness();
    f.wrote('ns/a');
    assert.equal(f.current('ns/a', '10'), false);
    f.read('ns/a', '11');
    assert.equal(f.current('ns/a', '10'), false);
    assert.equal(f.current('ns/a', '11'), true);
    f.wrote('ns/b');
    f.forget('ns/b');
    assert.equal(f.current('ns/b', '5'), true);
  });
});

describe('outcomes', () => {
  it('maps sidecar failures to condition reasons by the machine reason, never by the message', () => {
    const reasonOf = (status: number, code: ErrorCode, message: string, reason?: SidecarReason) =>
      outcomeOfError(new SidecarError(status, code, message, { reason })).obs.reason;
    assert.equal(reasonOf(0, 'internal', 'ECONNREFUSED'), 'SidecarUnavailable');
    assert.equal(reasonOf(503, 'shutting_down', 'bye', 'ShuttingDown'), 'SidecarUnavailable');
    assert.equal(reasonOf(401, 'unauthorized', 'x', 'Unauthorized'), 'SidecarUnavailable');
    assert.equal(reasonOf(400, 'invalid_input', 'bad git URL', 'InvalidInput'), 'InvalidSpec');
    // A git auth failure on a repository whose URL names "publish" is still a git auth failure.
    const auth = 'git fetch https://example.com/publish-charts.git: authentication failed (publish)';
    assert.equal(reasonOf(502, 'upstream_failed', auth, 'GitAuthFailed'), 'GitAuthFailed');
    assert.equal(
      reasonOf(502, 'upstream_failed', 'git: could not resolve host', 'GitUnreachable'),
      'GitUnreachable',
    );
    assert.equal(reasonOf(502, 'upstream_failed', 'no such ref', 'RefNotFound'), 'RefNotFound');
    assert.equal(reasonOf(502, 'upstream_failed', 'git fetch failed', 'GitFailed'), 'GitFailed');
    assert.equal(reasonOf(502, 'upstream_failed', 'upload failed', 'PublishFailed'), 'PublishFailed');
    assert.equal(reasonOf(502, 'upstream_failed', 'disk', 'StorageFull'), 'StorageFull');
    // A sidecar that sends no reason is judged by its status alone: no guess from the text.
    assert.equal(reasonOf(502, 'upstream_failed', 'publishing to chartmuseum failed'), 'SyncFailed');
    assert.equal(reasonOf(400, 'invalid_input', 'publish'), 'InvalidSpec');
    assert.equal(reasonOf(500, 'internal', 'git auth'), 'SidecarUnavailable');
  });
  it('every machine reason of the sidecar has a Ready reason', () => {
    for (const reason of REASONS) {
      const obs = outcomeOfError(new SidecarError(502, 'upstream_failed', 'm', { reason })).obs;
      assert.ok(obs.reason && obs.reason !== 'Synced', `${reason} -> ${obs.reason}`);
    }
  });
  it('a failed sync recorded by the sidecar (lastSync.error) maps by its reason', () => {
    const view = {
      name: 'publish',
      git: 'https://example.com/publish.git',
      prune: true,
      hasCredentials: false,
      syncing: false,
      lastSync: {
        name: 'publish',
        commit: '',
        changed: false,
        durationMs: 1,
        charts: [],
        at: 'now',
        error: {
          error: 'upstream_failed' as const,
          message: 'publish: authentication failed',
          reason: 'GitAuthFailed' as const,
        },
      },
    };
    assert.equal(outcomeOfRepoView(view)?.obs.reason, 'GitAuthFailed');
  });
  it('a sync with failed charts is PackageFailed naming them; conflicts stay Ready with a note', () => {
    const failed = outcomeOfSync(
      {
        name: 'r',
        commit: 'abcdef1234567890',
        changed: true,
        durationMs: 1,
        charts: [
          { name: 'ok', version: '1.0.0', digest: 'd', action: 'published' },
          {
            name: 'broken',
            version: '',
            digest: '',
            action: 'failed',
            error: 'Chart.yaml: version is not SemVer 2',
          },
        ],
      },
      'now',
    );
    assert.equal(failed.obs.reason, 'PackageFailed');
    assert.match(failed.obs.message, /broken: Chart\.yaml: version is not SemVer 2/);
    assert.deepEqual(failed.charts, [{ name: 'ok', version: '1.0.0' }]);
    const conflict = outcomeOfSync(
      {
        name: 'r',
        commit: 'c',
        changed: false,
        durationMs: 1,
        charts: [{ name: 'x', version: '1.0.0', digest: 'd', action: 'conflict' }],
      },
      'now',
    );
    assert.equal(conflict.obs.reason, 'Synced');
    assert.match(conflict.obs.message, /already published with other content/);
  });

  it('a message stays within the condition limit: conflicts are named up to 10, longer messages are cut', () => {
    const many = outcomeOfSync(
      {
        name: 'r',
        commit: 'c',
        changed: true,
        durationMs: 1,
        charts: Array.from({ length: 5000 }, (_, i) => ({
          name: `chart-with-a-long-name-${i}`,
          version: '1.0.0',
          digest: 'd',
          action: 'conflict' as const,
        })),
      },
      'now',
    );
    assert.match(
      many.obs.message,
      /5000 chart version\(s\) .*chart-with-a-long-name-9 1\.0\.0, and 4990 more$/,
    );
    const long = { status: 'False' as const, reason: 'GitFailed' as const, message: 'x'.repeat(40_000) };
    const [c] = setCondition(undefined, 'Ready', long, 1, new Date());
    assert.equal(c?.message.length, 32_768);
  });
});

describe('CronJob drift', () => {
  const settings = { image: 'curl:1', sidecarUrl: 'http://sidecar:3000', tokenSecretName: 'tok' };
  const desired = desiredCronJob(cm('a', '2024-01-01T00:00:00Z', { updateEveryMinutes: 15 }), settings);
  it('fields the API server defaults are not drift', () => {
    const live = structuredClone(desired);
    live.metadata.resourceVersion = '12';
    live.spec.successfulJobsHistoryLimit = 3;
    const c = live.spec.jobTemplate.spec.template.spec.containers[0] as Record<string, unknown>;
    c.imagePullPolicy = 'IfNotPresent';
    c.terminationMessagePath = '/dev/termination-log';
    assert.equal(hasDrifted(live, desired), false);
  });
  it('edits of owned fields are drift', () => {
    for (const edit of [
      (l: typeof desired) => {
        l.spec.schedule = '* * * * *';
      },
      (l: typeof desired) => {
        l.spec.suspend = true;
      },
      (l: typeof desired) => {
        (l.spec.jobTemplate.spec.template.spec.containers[0] as { image: string }).image = 'other';
      },
      (l: typeof desired) => {
        l.metadata.ownerReferences = [];
      },
    ]) {
      const live = structuredClone(desired);
      edit(live);
      assert.equal(hasDrifted(live, desired), true);
    }
  });
  it('without a token the CronJob references no Secret', () => {
    const noToken = desiredCronJob(cm('a', '2024-01-01T00:00:00Z'), {
      ...settings,
      tokenSecretName: undefined,
    });
    assert.ok(!JSON.stringify(noToken).includes('secretKeyRef'));
  });
});

describe('work queue', () => {
  it('never runs one key twice at once, and re-runs it once after adds during a run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const q = new WorkQueue({
      workers: 4,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      handler: async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        if (runs === 1) await gate;
        running--;
        return undefined;
      },
    });
    q.add('k');
    q.add('k');
    await new Promise((r) => setImmediate(r));
    q.add('k');
    q.add('k');
    release();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2);
    await q.shutdown();
  });

  it('retries failures with exponential backoff, capped', async () => {
    const times: number[] = [];
    const delays: number[] = [];
    const q = new WorkQueue({
      workers: 1,
      backoffBaseMs: 20,
      backoffMaxMs: 80,
      handler: async () => {
        times.push(Date.now());
        throw new Error('boom');
      },
      onError: (_key, _err, retryInMs) => delays.push(retryInMs),
    });
    q.add('k');
    // Wall-clock waits only bound from below (timers fire late on a busy machine, never early).
    await waitUntil(() => times.length >= 6, 10_000);
    await q.shutdown();
    assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 80, 80], 'doubling from the base, capped at the max');
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    gaps.slice(0, 5).forEach((g, i) => {
      assert.ok(g >= (delays[i] as number) - 5, `retry ${i + 1} waited ${g} ms, asked ${delays[i]}`);
    });
  });
});

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('config', () => {
  it('requires SIDECAR_URL and validates values, naming the variable', () => {
    assert.throws(() => loadConfig({}), /SIDECAR_URL is required/);
    assert.throws(() => loadConfig({ SIDECAR_URL: 'ftp://x' }), /SIDECAR_URL=ftp:\/\/x/);
    assert.throws(
      () => loadConfig({ SIDECAR_URL: 'http://s', LEADER_ELECTION: 'maybe' }),
      /LEADER_ELECTION=maybe/,
    );
    assert.throws(() => loadConfig({ SIDECAR_URL: 'http://s', RESYNC_SECONDS: '-1' }), /RESYNC_SECONDS/);
  });
  it('leader election defaults to on in a cluster, off outside', () => {
    assert.equal(
      loadConfig({ SIDECAR_URL: 'http://s', KUBERNETES_SERVICE_HOST: '10.0.0.1' }).leaderElection,
      true,
    );
    assert.equal(loadConfig({ SIDECAR_URL: 'http://s' }).leaderElection, false);
    const c = loadConfig({ SIDECAR_URL: 'http://s/', SIDECAR_TOKEN: ' t ' });
    assert.equal(c.sidecarUrl, 'http://s');
    assert.equal(c.sidecarToken, 't');
    assert.equal(c.watchNamespace, '');
  });

  it('reads SIDECAR_TOKEN_FILE like the sidecar does: trimmed, and an empty or missing file is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chartsync-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, ' s3cret\n');
      assert.equal(loadConfig({ SIDECAR_URL: 'http://s', SIDECAR_TOKEN_FILE: file }).sidecarToken, 's3cret');
      writeFileSync(file, '\n');
      // Read as "no token", the operator would call the sidecar without one and be refused.
      assert.throws(() => loadConfig({ SIDECAR_URL: 'http://s', SIDECAR_TOKEN_FILE: file }), /is empty/);
      assert.throws(
        () => loadConfig({ SIDECAR_URL: 'http://s', SIDECAR_TOKEN_FILE: join(dir, 'missing') }),
        /SIDECAR_TOKEN_FILE=.*missing/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('API server access (kubeconfig, in-cluster)', () => {
  const withDir = async (fn: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'chartsync-kubeconfig-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const applied = async (access: Awaited<ReturnType<typeof loadAccess>>) => {
    const opts: import('node:https').RequestOptions = { headers: {} };
    await access.apply(opts);
    return opts;
  };

  it('YAML kubeconfig: file paths relative to the file, tokenFile read, the current context of the first file wins', async () => {
    await withDir(async (dir) => {
      writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
      writeFileSync(join(dir, 'token'), 'tok-from-file\n');
      writeFileSync(
        join(dir, 'a.yaml'),
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: one',
          'contexts:',
          '- name: one',
          '  context: {cluster: c1, user: u1}',
          'clusters:',
          '- name: c1',
          '  cluster: {server: "https://10.1.2.3:6443/", certificate-authority: ca.crt, tls-server-name: api.internal}',
          'users:',
          '- name: u1',
          '  user: {tokenFile: token}',
          '',
        ].join('\n'),
      );
      // A second file may not override what the first names (kubectl's merge rule).
      writeFileSync(
        join(dir, 'b.json'),
        JSON.stringify({
          'current-context': 'two',
          clusters: [{ name: 'c1', cluster: { server: 'https://evil:1' } }],
          users: [{ name: 'u1', user: { token: 'other' } }],
          contexts: [{ name: 'two', context: { cluster: 'c1', user: 'u1' } }],
        }),
      );
      const access = await loadAccess({ KUBECONFIG: `${join(dir, 'a.yaml')}:${join(dir, 'b.json')}` });
      assert.equal(access.kind, 'kubeconfig');
      assert.equal(access.server, 'https://10.1.2.3:6443');
      const opts = await applied(access);
      assert.equal(String(opts.ca), 'CA PEM');
      assert.equal(opts.servername, 'api.internal');
      assert.equal((opts.headers as Record<string, string>).authorization, 'Bearer tok-from-file');
    });
  });

  it('client certificates inline; a user with an exec plugin is left to @kubernetes/client-node', async () => {
    await withDir(async (dir) => {
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const cfg = (user: Record<string, unknown>) =>
        JSON.stringify({
          'current-context': 'x',
          clusters: [{ name: 'c', cluster: { server: 'https://k:443', 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        });
      writeFileSync(
        join(dir, 'certs'),
        cfg({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }),
      );
      const opts = await applied(await loadAccess({ KUBECONFIG: join(dir, 'certs') }));
      assert.equal(String(opts.cert), 'CERT');
      assert.equal(String(opts.key), 'KEY');
      assert.equal(opts.rejectUnauthorized, false);
      assert.equal((opts.headers as Record<string, string>).authorization, undefined);
      writeFileSync(
        join(dir, 'exec'),
        cfg({
          exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true', interactiveMode: 'Never' },
        }),
      );
      const viaExec = await loadAccess({ KUBECONFIG: join(dir, 'exec') });
      assert.equal(viaExec.kind, 'client-node');
      assert.equal(viaExec.server, 'https://k:443');
    });
  });

  it('no kubeconfig and not in a cluster: an error saying so; a missing $KUBECONFIG file is named', async () => {
    await withDir(async (dir) => {
      await assert.rejects(loadAccess({ HOME: dir }), /no kubeconfig .* not running in a cluster/);
      await assert.rejects(loadAccess({ KUBECONFIG: join(dir, 'nope') }), /KUBECONFIG=.*nope: no such file/);
    });
  });
});

describe('chartsync-operator CLI', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(operatorBin, args, { env: { PATH: process.env.PATH, ...env } }, (error, out, err) =>
        resolve({ code: error ? (error.code as number) : 0, out, err }),
      );
    });
  it('node_modules/.bin/chartsync-operator --help prints the configuration', async () => {
    const r = await run(['--help'], {});
    assert.equal(r.code, 0);
    assert.match(r.out, /SIDECAR_URL/);
    assert.match(r.out, /WATCH_NAMESPACE/);
  });
  it('refuses to start without SIDECAR_URL, saying so', async () => {
    const r = await run([], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /SIDECAR_URL is required/);
  });
});

describe('stableJson', () => {
  it('is the same text for data that is equal whatever the key order; arrays keep their order', () => {
    assert.equal(
      stableJson({ b: 1, a: { d: [2, 1], c: undefined, e: 'x' } }),
      stableJson({ a: { e: 'x', d: [2, 1] }, b: 1 }),
    );
    assert.notEqual(stableJson({ a: [1, 2] }), stableJson({ a: [2, 1] }));
    assert.equal(stableJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
  });
});
