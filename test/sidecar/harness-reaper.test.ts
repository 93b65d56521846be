/**
 * The harness's long-running children end with the process that started them, however it ends:
 * a test file or benchmark killed with SIGKILL (a timeout, `kill -9`) runs no cleanup, and a
 * `chartsync serve` left behind would hold a port and spend CPU during every later measurement.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, tempDir } from '../harness/paths.ts';
import { processesNaming } from '../harness/reaper.ts';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('a sidecar started by the harness ends when the process that started it is killed with SIGKILL', async () => {
  const tmp = await tempDir('chartsync-reaper-');
  cleanups.push(() => tmp.cleanup());
  const storage = join(tmp.path, 'storage');
  const script = `import { startSidecarProcess } from ${JSON.stringify(join(repoRoot, 'test/harness/sidecar.ts'))};
const s = await startSidecarProcess({ args: ['--storage-dir', process.argv[1]] });
process.stdout.write('PID=' + s.proc.pid + '\\n');
setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, storage], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the starter exited early with ${code}`)));
  });
  const pid = Number(/^PID=(\d+)$/.exec(first)?.[1]);
  const sidecars = () => processesNaming(storage).filter((p) => p !== child.pid);
  assert.deepEqual(sidecars(), [pid], 'the sidecar runs');
  child.kill('SIGKILL');
  // The reaper sends SIGTERM, then SIGKILL after its 5 s grace.
  const deadline = Date.now() + 20_000;
  while (sidecars().length > 0 && Date.now() < deadline) await sleep(100);
  assert.deepEqual(sidecars(), [], 'the sidecar is gone');
});
