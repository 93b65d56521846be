/**
 * The server edge against the running sidecar: requests the client got wrong are 4xx answers
 * with a reason, logged at debug — never a 500 with an error-level stack trace that anonymous
 * clients could flood the log with — and no answer quotes a credential sent in the request.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorld, TOKEN, type World } from './world.ts';

let world: World;

before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.stop();
});

/** Log records at error level or above, or carrying a stack, since `from`. */
function loudRecords(from: number): Record<string, unknown>[] {
  return world.sidecar
    .records()
    .slice(from)
    .filter((r) => Number(r.level) >= 50 || JSON.stringify(r).includes('"stack"'));
}

// Percent-escapes that decodeURIComponent refuses: overlong UTF-8, lone continuation bytes,
// truncated sequences, a bare "%", a non-hex digit, a surrogate half.
const BAD_ESCAPES = ['%c0%ae', '%ff', '%', '%E0%A4%A', '%zz', '%80', '%ed%a0%80', '%c3', '%%2e'];
const ROUTES = [
  (x: string) => `/charts/x/${x}`,
  (x: string) => `/charts/${x}/index.yaml`,
  (x: string) => `/repo/${x}`,
  (x: string) => `/repo/${x}/update`,
  (x: string) => `/repo/dependency/${x}`,
];

describe('malformed percent-encoding in the path', () => {
  test('is 400 InvalidInput on every route, with or without a token, and never logged as an error', async () => {
    const from = world.sidecar.records().length;
    for (const badEscape of BAD_ESCAPES) {
      for (const route of ROUTES) {
        for (const [method, token] of [
          ['GET', null],
          ['GET', TOKEN],
          ['DELETE', TOKEN],
          ['POST', TOKEN],
        ] as const) {
          const path = route(badEscape);
          const a = await world.api(method, path, { token });
          assert.ok(
            a.status >= 400 && a.status < 500,
            `${method} ${path} (token ${Boolean(token)}): ${a.status} ${a.text}`,
          );
          if (a.status === 400) assert.equal(a.json.reason, 'InvalidInput', a.text);
          assert.equal(typeof a.json.reason, 'string', `${method} ${path}: ${a.text}`);
        }
      }
    }
    await sleep(100);
    assert.deepEqual(loudRecords(from), []);
  });
});

describe('bodies the client got wrong', () => {
  test('an aborted upload gets no 500 and no error-level log line; the server keeps answering', async () => {
    const from = world.sidecar.records().length;
    const url = new URL(world.sidecar.url);
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write(
            `POST /repo/new HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${type}\r\nContent-Length: 100000\r\n\r\n{"name":"abc","git":"https://`,
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 200);
        });
        socket.on('error', reject);
      });
    }
    await sleep(300);
    assert.deepEqual(loudRecords(from), []);
    assert.equal((await world.api('GET', '/healthz')).status, 200);
  });

  test('a body that is not JSON is 400 and the answer does not quote it (it may hold a password)', async () => {
    const secret = 'pa55';
    const a = await world.api('POST', '/repo/new', {
      // JSON.parse quotes the text around the error: here the user and password
      body: `{"git":https://u:${secret}@example.com/r.git}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(a.status, 400, a.text);
    assert.equal(a.json.reason, 'InvalidInput');
    assert.ok(!a.text.includes(secret), a.text);
    assert.ok(!a.text.includes('https://u'), a.text);
  });
});

describe('credentials in URLs, every form', () => {
  const PW = 'Zq9-url-secret';
  // Forms whose user info cannot be told apart, or that must not carry a password: 400, the
  // password nowhere in the answer, nothing registered.
  const refused = [
    `ssh://git:${PW}@127.0.0.1/x.git`,
    `git+ssh://git:${PW}@127.0.0.1/x.git`,
    `git:${PW}@127.0.0.1:x.git`,
    `https://user:${PW}/x@127.0.0.1/x.git`,
    `https://user:${PW}?q@127.0.0.1/x.git`,
    `https://user:${PW}#f@127.0.0.1/x.git`,
    `https://user:${PW}%zz@127.0.0.1/x.git`,
    `https://user:${PW}%@127.0.0.1/x.git`,
    `https://user:${PW}@exa mple.com/x.git`,
    `https://user:${PW}@-oProxyCommand=x/x.git`,
    `https://user:${PW}@127.0.0.1/x\n.git`,
    `ext::user:${PW}@x`,
  ];
  test('refused forms answer 400 InvalidInput without quoting the password, by JSON and by form', async () => {
    for (const git of refused) {
      for (const init of [{ json: { name: 'cred', git } }, { form: { name: 'cred', git } }]) {
        const a = await world.api('POST', '/repo/new', init);
        assert.equal(a.status, 400, `${git}: ${a.text}`);
        assert.equal(a.json.reason, 'InvalidInput', a.text);
        assert.ok(!a.text.includes(PW), `${JSON.stringify(git)} echoed: ${a.text}`);
      }
    }
    assert.equal((await world.api('GET', '/repo/cred')).status, 404);
    assert.ok(!world.sidecar.logs.join('\n').includes(PW), 'a log line holds the password');
  });

  test('accepted forms are split: GET /repo shows neither user nor password, the logs neither', async () => {
    const accepted: [string, string][] = [
      [`https://bot:${PW}@127.0.0.1:9/a.git`, 'https://127.0.0.1:9/a.git'],
      [`https://bot:${PW.replace('-', ' ')}@127.0.0.1:9/b.git`, 'https://127.0.0.1:9/b.git'],
      [`https://bot:${PW}%2Fx%40y@127.0.0.1:9/c.git`, 'https://127.0.0.1:9/c.git'],
      [`https://bot:${PW}@x@127.0.0.1:9/d.git`, 'https://127.0.0.1:9/d.git'],
      [`https://${PW}@127.0.0.1:9/e.git`, 'https://127.0.0.1:9/e.git'],
    ];
    for (const [i, [git, shown]] of accepted.entries()) {
      const a = await world.api('POST', '/repo/new', { json: { name: `split-${i}`, git } });
      assert.equal(a.status, 502, a.text); // nothing listens on port 9
      assert.equal(a.json.reason, 'GitUnreachable', a.text);
      const view = await world.api('GET', `/repo/split-${i}`);
      assert.equal(view.json.git, shown);
      assert.equal(view.json.hasCredentials, true);
      for (const text of [a.text, view.text, (await world.api('GET', '/repo')).text])
        assert.ok(!text.includes(PW) && !text.includes(PW.replace('-', ' ')) && !text.includes('bot:'), text);
    }
    const dep = await world.api('POST', '/repo/dependency', {
      json: { name: 'dep-cred', url: `https://bot:${PW}@charts.example.com/stable` },
    });
    assert.equal(dep.status, 200, dep.text);
    assert.equal(dep.json.url, 'https://charts.example.com/stable');
    assert.equal(dep.json.hasCredentials, true);
    assert.ok(!(await world.api('GET', '/repo/dependency')).text.includes(PW));
    await sleep(200);
    assert.ok(!world.sidecar.logs.join('\n').includes(PW), 'a log line holds the password');
  });
});
