/**
 * `DEBUG=*` (a usual first step when something goes wrong) must not print credentials: simple-git's
 * debug loggers wrote every command's environment (the askpass password, the Authorization
 * header in git's config) and raw output to stderr, past the log's redaction.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type GitServers, startGitServers } from '../harness/git-server.ts';

const USER = 'debug-bot';
const PASSWORD = 'dbg-PASSW0RD-5e6f7a8b';
let servers: GitServers;

before(async () => {
  servers = await startGitServers({ http: { auth: { username: USER, password: PASSWORD } } });
  await servers.repos.create('private', { 'charts/a/Chart.yaml': 'name: a\n' });
});
after(async () => {
  await servers?.stop();
});

test('DEBUG=* prints no credential of a git command', async () => {
  const url = servers.http?.url('private') ?? '';
  const script = `
    import { remoteHead } from '@chartsync/sidecar/git';
    const head = await remoteHead({ url: ${JSON.stringify(url)}, policy: { allowLocal: false, allowInsecure: true },
      auth: { username: ${JSON.stringify(USER)}, password: ${JSON.stringify(PASSWORD)} } });
    console.log(head);
  `;
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { env: { ...process.env, DEBUG: '*', DEBUG_COLORS: 'no' }, maxBuffer: 64 * 1024 * 1024 },
  );
  assert.match(stdout, /^[0-9a-f]{40}$/m);
  const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  assert.ok(!stderr.includes(PASSWORD), 'the password is on stderr');
  assert.ok(!stderr.includes(basic), 'the basic auth header is on stderr');
});
