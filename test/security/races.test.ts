/**
 * Registrations racing each other on one repo name: a DELETE while a sync and its coalesced
 * follow-up are under way, and a re-registration right behind it. The syncs of one repo must
 * never overlap (they share its clone, staging dir, state and index), whichever request
 * started them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileUrl } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { startWorld, type World } from './world.ts';

let w: World;
let git: string;

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  // enough charts that a first sync takes a while, so the requests below meet it under way
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) Object.assign(files, chartFiles(`charts/c${i}`, `c${i}`));
  git = fileUrl(await w.git.repos.create('busy', files));
});
after(async () => {
  await w?.stop();
});

/** Syncs of `repo` in log order: never a second start before the first one ended. */
function assertNoOverlap(repo: string): number {
  let open = 0;
  let runs = 0;
  for (const line of w.sidecar.logs) {
    const rec = JSON.parse(line) as { repo?: string; msg?: string };
    if (rec.repo !== repo) continue;
    if (rec.msg === 'sync started') {
      open++;
      runs++;
      assert.equal(open, 1, `two syncs of ${repo} at once:\n${w.sidecar.logs.join('\n')}`);
    }
    if (rec.msg === 'sync finished' || rec.msg === 'sync failed') open--;
  }
  return runs;
}

test('DELETE then re-register during a sync and its follow-up: the syncs never overlap, the last one publishes', async () => {
  const first = w.api('POST', '/repo/new', { json: { name: 'busy', git } });
  await new Promise((r) => setTimeout(r, 100));
  const followUp = w.api('POST', '/repo/busy/update'); // coalesced behind the first sync
  await new Promise((r) => setTimeout(r, 20));
  const removed = w.api('DELETE', '/repo/busy');
  await new Promise((r) => setTimeout(r, 20));
  const again = await w.api('POST', '/repo/new', { json: { name: 'busy', git } });
  const answers = await Promise.all([first, followUp, removed]);
  for (const a of [...answers, again]) assert.ok(a.status < 500, a.text);
  assert.equal(again.status, 200, again.text);
  assert.ok(assertNoOverlap('busy') >= 2);
  const view = await w.api('GET', '/repo/busy');
  assert.equal(view.status, 200, view.text);
  const index = await w.api('GET', '/charts/busy/index.yaml', { token: null });
  assert.equal(index.status, 200, index.text);
  for (let i = 0; i < 40; i++) assert.match(index.text, new RegExp(`\\n  c${i}:\\n`));
});
