/**
 * Hostile API input against a running `chartsync serve`: bad names, wrong types, unknown fields,
 * huge and compressed bodies, malformed JSON and forms, missing or wrong tokens, methods and
 * paths that do not exist, traversal through the read-only chart routes. Every case asserts the
 * clear error AND that nothing changed: registrations, storage, data dir, the canary dir.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fileUrl } from '../harness/git-server.ts';
import { repoRoot } from '../harness/paths.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import {
  type Answer,
  assertError,
  assertOutsideUntouched,
  snapshot,
  startWorld,
  TOKEN,
  type World,
} from './world.ts';

let w: World;
let git: string;
/** Storage + data + registrations before each group of hostile calls. */
let baseline: { storage: Record<string, string>; data: Record<string, string>; repos: string; deps: string };

async function state() {
  return {
    storage: await snapshot(w.storage),
    data: await snapshot(w.data),
    repos: (await w.api('GET', '/repo')).text,
    deps: (await w.api('GET', '/repo/dependency')).text,
  };
}

/** Nothing was registered, written, deleted or run. */
async function assertNothingChanged(): Promise<void> {
  assert.deepEqual(await state(), baseline);
  await assertOutsideUntouched(w);
}

before(async () => {
  w = await startWorld({ args: ['--allow-local-git'] });
  const repo = await w.git.repos.create('good', chartFiles('app', 'app'));
  git = fileUrl(repo);
  const ok = await w.api('POST', '/repo/new', { json: { name: 'good', git } });
  assert.equal(ok.status, 200, ok.text);
  const dep = await w.api('POST', '/repo/dependency', {
    json: { name: 'dep', url: 'https://charts.example.com' },
  });
  assert.equal(dep.status, 200, dep.text);
  baseline = await state();
});
after(async () => {
  await w?.stop();
});

describe('names', () => {
  const bad = [
    'Upper',
    'UPPER',
    '..',
    '.',
    'a/b',
    '../x',
    'a'.repeat(64),
    '',
    '-x',
    'x-',
    'a_b',
    'a.b',
    'é',
    'a b',
  ];

  test(`${bad.length} bad repo names in the body are refused with 400 naming the field`, async () => {
    for (const name of bad) {
      const a = await w.api('POST', '/repo/new', { json: { name, git } });
      assertError(a, 400, 'invalid_input', /name: /);
    }
    assertError(
      await w.api('POST', '/repo/new', { json: { name: 'dependency', git } }),
      400,
      'invalid_input',
      /reserved/,
    );
    for (const name of bad) {
      const a = await w.api('POST', '/repo/dependency', { json: { name, url: 'https://x.example.com' } });
      assertError(a, 400, 'invalid_input', /name: /);
    }
    await assertNothingChanged();
  });

  test('bad names in the path are refused (400) or unmatched (404), never acted on', async () => {
    const paths = [
      '/repo/Upper',
      '/repo/Upper/update',
      '/repo/%2e%2e',
      '/repo/%2e%2e/update',
      '/repo/..%2f..%2fdata',
      '/repo/good%2f..%2fgood',
      `/repo/${'a'.repeat(64)}/update`,
      '/repo/%00/update',
      '/repo/dependency/%2e%2e',
      '/repo/dependency/Upper',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const a = await w.api(method, path);
        assert.ok(a.status === 400 || a.status === 404, `${method} ${path}: ${a.status} ${a.text}`);
        assert.ok(a.json.error === 'invalid_input' || a.json.error === 'not_found', a.text);
      }
    }
    await assertNothingChanged();
  });

  test('"constructor" (valid, and a property of every object) is an unknown repo and dependency until registered', async () => {
    for (const path of ['/repo/constructor', '/repo/constructor/update', '/repo/dependency/constructor']) {
      for (const method of path.endsWith('update') ? ['GET', 'POST'] : ['GET', 'DELETE']) {
        const a = await w.api(method, path);
        assertError(a, 404, 'not_found', /constructor/);
      }
    }
    // nothing was recorded under it: the list still answers, and so does a restarted sidecar
    await assertNothingChanged();
    await w.sidecar.stop(5000);
    await w.restart();
    await assertNothingChanged();
  });
});

describe('types and fields', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['name as a number', { name: 123, git: 'x' }, /name: must be a string, not number/],
    ['name as a list', { name: ['good'], git: 'x' }, /name: must be a string, not a list/],
    ['git as an object', { name: 'x', git: { url: 'x' } }, /git: must be a string, not object/],
    ['git missing', { name: 'x' }, /git: is required/],
    ['git empty', { name: 'x', git: '' }, /git: /],
    ['git over 4096 chars', { name: 'x', git: `https://example.com/${'a'.repeat(4096)}` }, /git: /],
    ['ref as a number', { name: 'x', git: 'https://example.com/r.git', ref: 7 }, /ref: /],
    [
      'prune neither true nor false',
      { name: 'x', git: 'https://example.com/r.git', prune: 'maybe' },
      /prune: /,
    ],
    ['paths as an object', { name: 'x', git: 'https://example.com/r.git', paths: { a: 1 } }, /paths: /],
    [
      'paths leaving the repo',
      { name: 'x', git: 'https://example.com/r.git', paths: ['a/../../etc'] },
      /paths\.0: /,
    ],
    ['an absolute path', { name: 'x', git: 'https://example.com/r.git', paths: ['/etc'] }, /paths\.0: /],
    [
      'a path longer than any directory can be',
      { name: 'x', git: 'https://example.com/r.git', paths: [`a/${'b'.repeat(5000)}`] },
      /paths\.0: must be at most 4096/,
    ],
    ['a path with a newline', { name: 'x', git: 'https://example.com/r.git', paths: ['a\nb'] }, /paths\.0: /],
    [
      'everyMinutes negative',
      { name: 'x', git: 'https://example.com/r.git', everyMinutes: -5 },
      /everyMinutes: /,
    ],
    [
      'everyMinutes in hex (a form field, which Number() would read as 60)',
      { name: 'x', git: 'https://example.com/r.git', everyMinutes: '0x3c' },
      /everyMinutes: must be a number/,
    ],
    [
      'everyMinutes not a number',
      { name: 'x', git: 'https://example.com/r.git', everyMinutes: 'often' },
      /everyMinutes: /,
    ],
    [
      'password over 64 KiB',
      { name: 'x', git: 'https://example.com/r.git', password: 'p'.repeat(65 * 1024) },
      /password: /,
    ],
    // credentials that could never reach git (Node refuses a NUL in the askpass environment)
    [
      'a password with a NUL byte',
      { name: 'x', git: 'https://example.com/r.git', username: 'u', password: 'p\u0000w' },
      /password: must not contain NUL/,
    ],
    [
      'a user name with a NUL byte',
      { name: 'x', git: 'https://example.com/r.git', username: 'u\u0000', password: 'p' },
      /username: must not contain control characters/,
    ],
    [
      'a user name with a newline (one line of askpass, half of user:password)',
      { name: 'x', git: 'https://example.com/r.git', username: 'u\nv', password: 'p' },
      /username: must not contain control characters/,
    ],
    [
      'an ssh key with a NUL byte',
      { name: 'x', git: 'ssh://git@example.com/r.git', sshKey: 'k\u0000' },
      /sshKey: /,
    ],
    [
      'known hosts with a NUL byte',
      { name: 'x', git: 'ssh://git@example.com/r.git', sshKey: 'k', knownHosts: 'h\u0000' },
      /knownHosts: /,
    ],
    [
      'both password and ssh key',
      { name: 'x', git: 'https://example.com/r.git', password: 'p', sshKey: 'k' },
      /either/,
    ],
  ];
  test(`${cases.length} wrongly typed repo bodies are refused with 400 naming the field`, async () => {
    for (const [what, body, re] of cases) {
      const a = await w.api('POST', '/repo/new', { json: body });
      assert.equal(a.status, 400, `${what}: ${a.text}`);
      assertError(a, 400, 'invalid_input', re);
    }
    const deps: Record<string, unknown>[] = [
      { name: 'd', url: 'file:///etc' },
      { name: 'd', url: 'ftp://example.com' },
      { name: 'd', url: 'javascript:alert(1)' },
      { name: 'd' },
      { name: 'd', url: 'https://example.com', mirrorOf: 'file:///x' },
      { name: 'd', url: ['https://example.com'] },
      { name: 'd', url: 'https://example.com', username: 'u', password: 'p\u0000' },
      { name: 'd', url: 'https://example.com', username: 'u\r\n', password: 'p' },
    ];
    for (const body of deps) {
      const a = await w.api('POST', '/repo/dependency', { json: body });
      assertError(a, 400, 'invalid_input', /url|mirrorOf|username|password/);
    }
    await assertNothingChanged();
  });

  test('JSON bodies that are not objects are refused', async () => {
    for (const body of ['[]', '"good"', 'null', '42', 'true', '[{"name":"x","git":"y"}]']) {
      const a = await w.api('POST', '/repo/new', { body, headers: { 'content-type': 'application/json' } });
      assertError(a, 400, 'invalid_input');
    }
    await assertNothingChanged();
  });

  test('unknown fields are ignored and never stored, and cannot switch a policy on', async () => {
    // A sidecar without --allow-local-git for this one: fields named like the policy must not open it.
    const strict = await startWorld();
    try {
      const repo = await strict.git.repos.create('r', chartFiles('app', 'app'));
      const before = await snapshot(strict.data);
      const body = `{"name":"sneaky","git":${JSON.stringify(fileUrl(repo))},"allowLocalGit":true,"allowLocal":true,
        "policy":{"allowLocal":true},"__proto__":{"allowLocal":true,"allowLocalGit":true},
        "constructor":{"prototype":{"allowLocal":true}},"storageDir":"/tmp","dataDir":"/tmp"}`;
      const a = await strict.api('POST', '/repo/new', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      assertError(a, 400, 'invalid_input', /local repositories .* not allowed/);
      assert.deepEqual(await snapshot(strict.data), before);
      assert.equal((await strict.api('GET', '/repo')).text, '[]');
      await assertOutsideUntouched(strict);
    } finally {
      await strict.stop();
    }
    // Accepted with extra fields: the extras are not kept anywhere, the prototype is untouched.
    const a = await w.api('POST', '/repo/new', {
      body: `{"name":"extra","git":${JSON.stringify(git)},"evilField":"zz-unknown-zz","__proto__":{"polluted":"zz-proto-zz"}}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(a.status, 200, a.text);
    const registry = await readFile(join(w.data, 'registry.json'), 'utf8');
    assert.doesNotMatch(registry, /zz-unknown-zz|zz-proto-zz/);
    assert.doesNotMatch((await w.api('GET', '/repo/extra')).text, /zz-unknown-zz|zz-proto-zz|polluted/);
    assert.equal((await w.api('DELETE', '/repo/extra')).status, 200);
    await assertNothingChanged();
  });
});

describe('bodies', () => {
  test('malformed JSON: 400 naming JSON, for several kinds of broken text', async () => {
    for (const body of ['{"name": ', '{name: "x"}', "{'name':'x'}", '{"a":1,}', '\u0000', '{"name":"x"}}']) {
      const a = await w.api('POST', '/repo/new', { body, headers: { 'content-type': 'application/json' } });
      assertError(a, 400, 'invalid_input', /JSON/);
    }
    await assertNothingChanged();
  });

  test('malformed forms: bad escapes, too many fields, arrays where strings go, unknown content types', async () => {
    const raw = (body: string, type = 'application/x-www-form-urlencoded') =>
      w.api('POST', '/repo/new', { body, headers: { 'content-type': type } });
    assertError(await raw('name=%ZZ%&git=%'), 400, 'invalid_input', /name: /);
    assertError(await raw('name=x&name=y&git=https://example.com/r.git'), 400, 'invalid_input', /name: /);
    assertError(await raw(Array.from({ length: 1200 }, (_, i) => `f${i}=1`).join('&')), 400, 'invalid_input');
    assertError(
      await raw('name=x&git=https://example.com/r.git', 'text/plain'),
      400,
      'invalid_input',
      /content type "text\/plain" is not read: send application\/json or application\/x-www-form-urlencoded/,
    );
    // curl -d '{...}' without a content type: JSON sent as a form, said so (the body not quoted)
    const asForm = await raw(
      JSON.stringify({ name: 'x', git: 'https://example.com/r.git', password: 'pw-7c1e' }),
    );
    assertError(asForm, 400, 'invalid_input', /JSON sent as a form.*Content-Type: application\/json/);
    assert.doesNotMatch(asForm.text, /pw-7c1e/);
    const untyped = await w.api('POST', '/repo/new', {
      body: '{"name":"x"}',
      headers: { 'content-type': '' },
    });
    assertError(untyped, 400, 'invalid_input', /content type \(none\) is not read/);
    assertError(await raw('name=x', 'multipart/form-data; boundary=zz'), 400, 'invalid_input');
    assertError(await raw('{"name":"x"}', 'application/json; charset=utf-16'), 400, 'invalid_input');
    await assertNothingChanged();
  });

  test('bodies over the limit: 413 for JSON, forms, and a gzip bomb (limit applies after inflating)', async () => {
    const big = 'k'.repeat(2 * 1024 * 1024);
    assertError(
      await w.api('POST', '/repo/new', { json: { name: 'big', git, sshKey: big } }),
      413,
      'payload_too_large',
    );
    assertError(
      await w.api('POST', '/repo/new', { form: { name: 'big', git, sshKey: big } }),
      413,
      'payload_too_large',
    );
    const bomb = gzipSync(
      Buffer.from(JSON.stringify({ name: 'bomb', git, pad: '0'.repeat(64 * 1024 * 1024) })),
    );
    assert.ok(bomb.length < 200 * 1024, `the bomb is small on the wire (${bomb.length} bytes)`);
    const a = await w.api('POST', '/repo/new', {
      body: bomb,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    assertError(a, 413, 'payload_too_large', /limit/);
    const rss = Number(
      /process_resident_memory_bytes (\d+)/.exec((await w.api('GET', '/metrics', { token: null })).text)?.[1],
    );
    assert.ok(
      rss > 0 && rss < 400 * 1024 * 1024,
      `the sidecar did not inflate the bomb into memory (rss ${rss})`,
    );
    assert.equal((await w.api('GET', '/repo/bomb')).status, 404);
    await assertNothingChanged();
  });
});

describe('token', () => {
  const routes: [string, string, Record<string, unknown>?][] = [
    ['GET', '/repo'],
    ['GET', '/repo/good'],
    ['POST', '/repo/new', { name: 'good', git }],
    ['GET', '/repo/good/update'],
    ['POST', '/repo/good/update'],
    ['DELETE', '/repo/good'],
    ['GET', '/repo/dependency'],
    ['POST', '/repo/dependency', { name: 'x', url: 'https://x.example.com' }],
    ['DELETE', '/repo/dependency/dep'],
  ];
  const wrong: [string, Record<string, string>][] = [
    ['no header', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['wrong token', { authorization: 'Bearer nope' }],
    ['token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['token plus a character', { authorization: `Bearer ${TOKEN}x` }],
    ['other case', { authorization: `Bearer ${TOKEN.toUpperCase()}` }],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
    ['token without scheme', { authorization: TOKEN }],
    ['token in another header', { 'x-token': TOKEN }],
  ];

  test(`${routes.length} routes x ${wrong.length} bad credentials: 401, the secret side untouched`, async () => {
    for (const [method, path, body] of routes) {
      for (const [what, headers] of wrong) {
        const a: Answer = await w.api(method, path, {
          token: null,
          headers,
          ...(body ? { json: body } : {}),
        });
        assertError(a, 401, 'unauthorized');
        assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer/, `${what} ${method} ${path}`);
        assert.doesNotMatch(a.text, new RegExp(TOKEN), 'the answer does not echo the token');
      }
      const q = await w.api(method, `${path}?token=${TOKEN}&access_token=${TOKEN}`, { token: null });
      assertError(q, 401, 'unauthorized');
    }
    await assertNothingChanged();
  });

  test('a huge body without a token gets 401, not 413 (auth before parsing)', async () => {
    const a = await w.api('POST', '/repo/new', {
      token: null,
      json: { name: 'x', git, k: 'k'.repeat(3 << 20) },
    });
    assertError(a, 401, 'unauthorized');
  });

  test('requests refused before routing add no metric series per path (anonymous made-up paths)', async () => {
    const series = async () =>
      (await w.api('GET', '/metrics')).text.split('\n').filter((l) => l.startsWith('chartsync_http_')).length;
    // one of each kind first, so the labels these refusals use exist already
    const kinds = (i: number) => [
      w.api('GET', `/repo/made-up-${i}/update`, { token: 'wrong' }),
      w.api('POST', `/repo/new-${i}`, { token: null }),
      w.api('GET', `/repo/%ZZ${i}`),
      w.api('GET', `/nowhere-${i}`),
    ];
    await Promise.all(kinds(0));
    const before = await series();
    for (let i = 1; i <= 20; i++) await Promise.all(kinds(i));
    assert.equal(await series(), before);
    assert.doesNotMatch((await w.api('GET', '/metrics')).text, /made-up|new-1|ZZ1|nowhere/);
  });

  test('the running code compares tokens in constant time: timingSafeEqual over SHA-256 digests', async () => {
    const built = await readFile(join(repoRoot, 'sidecar/dist/server/auth.js'), 'utf8');
    assert.match(built, /timingSafeEqual\(digest\(expected\), digest\(given\)\)/);
    assert.match(built, /createHash\('sha256'\)/);
    assert.doesNotMatch(built, /===\s*given|given\s*===|token\s*===|===\s*token\b/, 'no plain comparison');
  });
});

describe('routes and methods', () => {
  test('methods not allowed are answered 404 no route, and change nothing', async () => {
    const cases: [string, string][] = [
      ['PUT', '/repo/new'],
      ['PATCH', '/repo/good'],
      ['PUT', '/repo/good'],
      ['GET', '/repo/new'],
      ['PUT', '/repo/good/update'],
      ['DELETE', '/repo/good/update'],
      ['PATCH', '/repo/dependency'],
      ['PUT', '/repo/dependency/dep'],
      ['POST', '/repo/good'],
      ['POST', '/healthz'],
      ['DELETE', '/charts/good/index.yaml'],
      ['POST', '/charts/good/index.yaml'],
    ];
    for (const [method, path] of cases) {
      const a = await w.api(method, path, { json: { name: 'good', git } });
      if (method === 'GET' && path === '/repo/new') {
        // `new` reads as a repo name on GET /repo/:name
        assertError(a, 404, 'not_found', /"new" is not registered/);
        continue;
      }
      assertError(a, 404, 'not_found', new RegExp(`no route ${method}`));
    }
    await assertNothingChanged();
  });

  test('the chart routes serve nothing but index.yaml and archives of a repo (no traversal, no dotfiles)', async () => {
    assert.equal((await w.api('GET', '/charts/good/index.yaml', { token: null })).status, 200);
    for (const path of [
      '/charts/.chartsync/registry.json',
      '/charts/good/../../data/registry.json',
      '/charts/good/..%2f..%2fdata%2fregistry.json',
      '/charts/%2e%2e/data/registry.json',
      '/charts/good/%2e%2e%2f%2e%2e%2foutside%2fcanary.txt',
      '/charts/..%2foutside/canary.txt',
      '/charts/good/.index.yaml.tmp',
      '/charts/good/app-1.0.0.tgz%00.yaml',
      '/charts/Good/index.yaml',
    ]) {
      const a = await w.api('GET', path, { token: null });
      assert.equal(a.status, 404, `${path}: ${a.status}`);
      assert.doesNotMatch(a.text, /nobody may write|"dependencies"|"repos"/);
    }
  });

  test('ranges and preconditions on the chart routes answer as a file server does, never as a mislabelled 404', async () => {
    const url = '/charts/good/app-1.0.0.tgz';
    const whole = await w.api('GET', url, { token: null });
    assert.equal(whole.status, 200);
    const size = Number(whole.headers.get('content-length'));
    const part = await w.api('GET', url, { token: null, headers: { range: 'bytes=0-1' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 0-1/${size}`);
    const past = await w.api('GET', url, { token: null, headers: { range: `bytes=${size + 10}-` } });
    assert.equal(past.status, 416, past.text);
    assert.equal(past.headers.get('content-range'), `bytes */${size}`);
    assert.notEqual(past.headers.get('content-type'), 'application/gzip');
    const stale = await w.api('GET', url, { token: null, headers: { 'if-match': '"not-this-one"' } });
    assert.equal(stale.status, 412, stale.text);
    assert.doesNotMatch(stale.headers.get('content-type') ?? '', /gzip/);
    // a missing archive is still the plain 404 (JSON), not labelled as an archive
    const none = await w.api('GET', '/charts/good/app-9.9.9.tgz', { token: null });
    assert.equal(none.status, 404);
    assert.match(none.headers.get('content-type') ?? '', /json/);
  });
});
