/** Both components' loggers redact the same credential keys (@chartsync/api's SECRET_LOG_PATHS). */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger as operatorLogger } from '@chartsync/operator';
import { createLogger as sidecarLogger } from '@chartsync/sidecar/log';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

// Secrets where a careless log call could put them: a registration, a resource's spec, a request.
const record = {
  knownHosts: 'secret-known-hosts',
  repo: { name: 'team', auth: { username: 'u', password: 'secret-password' }, sshKey: 'secret-ssh-key' },
  spec: { secret: { token: 'secret-token' } },
  req: { headers: { authorization: 'Bearer secret-bearer' } },
};

for (const [name, make] of [
  ['sidecar', (s: Writable) => sidecarLogger({ level: 'info', destination: s })],
  ['operator', (s: Writable) => operatorLogger('info', false, s)],
] as const) {
  test(`the ${name} logger redacts every credential key, nested too`, () => {
    const out = capture();
    make(out.stream).info(record, 'a record with secrets');
    const text = out.text();
    assert.match(text, /a record with secrets/);
    assert.doesNotMatch(text, /secret-/, text);
    assert.match(text, /"name":"team"/, 'what is not a secret stays');
  });
}
