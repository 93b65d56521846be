/**
 * `chartsync serve` fixes its memory settings at start by replacing its own process image once:
 * same pid, the V8 flags and malloc arena limit of process-tuning.ts, a young generation that
 * stays small (read from the sidecar's own /metrics), and the user's own choices kept.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tuningPlan } from '@chartsync/sidecar/process-tuning';
import { tempDir } from '../harness/paths.ts';
import { chartsyncScript, type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
const running: SidecarProcess[] = [];

before(async () => {
  tmp = await tempDir('chartsync-tuning-');
});
after(async () => {
  for (const s of running) await s.stop();
  await tmp?.cleanup();
});

async function serve(name: string, env: NodeJS.ProcessEnv = {}): Promise<SidecarProcess> {
  const s = await startSidecarProcess({
    args: ['--storage-dir', `${tmp.path}/${name}/storage`, '--data-dir', `${tmp.path}/${name}/data`],
    env: { NODE_OPTIONS: '', MALLOC_ARENA_MAX: '', ...env },
  });
  running.push(s);
  return s;
}

/** argv and environment of the process behind `pid`, as the kernel reports them. */
async function processOf(pid: number): Promise<{ argv: string[]; env: Map<string, string> }> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  const env = new Map(
    (await readFile(`/proc/${pid}/environ`, 'utf8'))
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
  );
  return { argv, env };
}

async function newSpaceMiB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^chartsync_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
  assert.ok(m, 'the sidecar reports its heap spaces');
  return Number(m[1]) / 1024 / 1024;
}

describe('process tuning of chartsync serve', () => {
  test('the process the caller started serves, tuned: V8 flags, two malloc arenas, a small young generation', async () => {
    const s = await serve('tuned');
    const pid = s.proc.pid ?? 0;
    const { argv, env } = await processOf(pid);
    // Untuned, V8 starts the server with a 32 MiB young generation and grows it under load.
    for (let i = 0; i < 50; i++) await fetch(`${s.url}/repo`).then((r) => r.arrayBuffer());
    const mib = await newSpaceMiB(s.url);
    assert.ok(mib <= 4, `young generation ${mib.toFixed(1)} MiB`);
    for (const flag of ['--max-semi-space-size=1', '--heap-growing-percent=50', '--max-opt=2'])
      assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
    assert.equal(env.get('MALLOC_ARENA_MAX'), '2');
  });

  test("the user's own choices win: a semi-space flag in NODE_OPTIONS, MALLOC_ARENA_MAX set", async () => {
    const s = await serve('user', { NODE_OPTIONS: '--max-semi-space-size=8', MALLOC_ARENA_MAX: '4' });
    const { argv, env } = await processOf(s.proc.pid ?? 0);
    assert.ok(!argv.some((a) => a.startsWith('--max-semi-space-size')), argv.join(' '));
    assert.ok(argv.includes('--max-opt=2'), 'the flags the user did not choose still apply');
    assert.equal(env.get('MALLOC_ARENA_MAX'), '4');
  });

  test('the plan: nothing twice, nothing over a choice already made', () => {
    assert.equal(tuningPlan([], { CHARTSYNC_PROCESS_TUNED: '1' }), undefined, 'after the re-exec');
    const all = tuningPlan(['--inspect'], {});
    assert.deepEqual(all?.execArgv, [
      '--max-semi-space-size=1',
      '--heap-growing-percent=50',
      '--max-opt=2',
      '--inspect',
    ]);
    assert.deepEqual(all?.env, { MALLOC_ARENA_MAX: '2', CHARTSYNC_PROCESS_TUNED: '1' });
    const chosen = tuningPlan(['--max-opt=3', '--heap-growing-percent=20'], {
      NODE_OPTIONS: '--max-semi-space-size=16',
      MALLOC_ARENA_MAX: '8',
    });
    assert.equal(chosen, undefined, 'every setting chosen by the user: no re-exec at all');
  });
});

describe('compile cache of the chartsync command', () => {
  const run = (env: NodeJS.ProcessEnv, args = ['package', '--help']) => {
    const r = spawnSync(process.execPath, [chartsyncScript, ...args], {
      env: { ...process.env, NODE_COMPILE_CACHE: undefined, XDG_CACHE_HOME: undefined, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  };
  const files = async (dir: string): Promise<number> =>
    existsSync(dir) ? (await readdir(dir, { recursive: true })).length : 0;

  test('kept per user under an existing ~/.cache (or XDG_CACHE_HOME); NODE_COMPILE_CACHE wins', async () => {
    const home = join(tmp.path, 'home');
    await mkdir(join(home, '.cache'), { recursive: true });
    run({ HOME: home });
    const mine = join(home, '.cache/chartsync/compile-cache');
    assert.ok((await files(mine)) > 1, 'compiled modules are kept for the next run');
    const xdg = join(tmp.path, 'xdg');
    await mkdir(xdg);
    run({ HOME: home, XDG_CACHE_HOME: xdg });
    assert.ok((await files(join(xdg, 'chartsync/compile-cache'))) > 1);
    const chosen = join(tmp.path, 'chosen');
    const bare = join(tmp.path, 'bare-home');
    await mkdir(join(bare, '.cache'), { recursive: true });
    run({ HOME: bare, NODE_COMPILE_CACHE: chosen });
    assert.ok((await files(chosen)) > 1, "the user's NODE_COMPILE_CACHE is used");
    assert.equal(existsSync(join(bare, '.cache/chartsync')), false);
  });

  test('never creates a cache home, and a HOME or XDG_CACHE_HOME in /proc neither hangs nor fails', async () => {
    const home = join(tmp.path, 'no-cache-home');
    await mkdir(home);
    run({ HOME: home });
    assert.deepEqual(await readdir(home), []);
    // Node's recursive mkdir spins forever under /proc: the run must end, and succeed.
    run({ HOME: '/proc' }, ['--version']);
    run({ HOME: home, XDG_CACHE_HOME: '/proc' }, ['--version']);
  });
});
