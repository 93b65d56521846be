/** The pure parts of the git layer: URL and ref policy, scrubbing, ref resolution, error kinds. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  allowedProtocols,
  checkGitUrl,
  checkRef,
  classifyGitOutput,
  GitError,
  gitHint,
  gitLastWords,
  lsRemoteArgs,
  normalizeLines,
  objectCounts,
  parseGitUrl,
  redact,
  redactUrl,
  redactUrlsIn,
  resolveRef,
  shouldCompact,
  splitUrlCredentials,
  urlSecrets,
} from '@chartsync/sidecar/git';

const strict = { allowLocal: false, allowInsecure: false };
const open = { allowLocal: true, allowInsecure: true };

function refusedUrl(url: string, policy = open, why?: RegExp): void {
  assert.throws(
    () => checkGitUrl(url, policy),
    (e: unknown) => e instanceof GitError && e.kind === 'policy' && (!why || why.test(e.message)),
    `expected ${JSON.stringify(url)} to be refused`,
  );
}

describe('git URL policy', () => {
  test('https, ssh:// and scp-like ssh URLs are always allowed', () => {
    for (const url of [
      'https://github.com/foo/charts',
      'https://github.com/foo/charts.git',
      'https://git.example.com:8443/a/b/c.git',
      'ssh://git@github.com/foo/charts.git',
      'ssh://git@[::1]:2222/srv/repo.git',
      'git+ssh://git@example.com/x.git',
      'git@github.com:foo/charts.git',
      'example.com:repo.git',
    ]) {
      assert.doesNotThrow(() => checkGitUrl(url, strict), url);
    }
  });

  test('http:// and git:// only with allowInsecure, and the error says how to allow them', () => {
    for (const url of ['http://example.com/x.git', 'git://example.com/x.git']) {
      refusedUrl(url, strict, /allowInsecureGit/);
      refusedUrl(url, { allowLocal: true, allowInsecure: false }, /allowInsecureGit/);
      assert.doesNotThrow(() => checkGitUrl(url, { allowLocal: false, allowInsecure: true }));
    }
  });

  test('file:// and local paths only with allowLocal', () => {
    for (const url of ['file:///srv/git/x.git', '/srv/git/x.git', './x', '../x', 'relative/dir', 'x']) {
      refusedUrl(url, { allowLocal: false, allowInsecure: true }, /allowLocalGit/);
    }
    for (const url of ['file:///srv/git/x.git', '/srv/git/x.git', 'file:///srv/git/with%20space.git'])
      assert.doesNotThrow(() => checkGitUrl(url, { allowLocal: true, allowInsecure: false }), url);
  });

  test('a local repository is an absolute path on this host: relative paths (git runs in the checkout) and file://host are refused', () => {
    for (const url of ['./x', '../x', '../../data/clones/other', 'relative/dir', 'x', 'file://./x'])
      refusedUrl(url, open, /must be an absolute path|three slashes/);
    refusedUrl('file://otherhost/srv/x.git', open, /three slashes/);
  });

  test("a local repository inside the policy's private directories is refused, as written or percent-encoded", () => {
    const policy = { ...open, privateDirs: ['/var/lib/chartsync/data', '/srv/charts'] };
    for (const url of [
      '/var/lib/chartsync/data/clones/other',
      'file:///var/lib/chartsync/data/clones/other',
      '/var/lib/chartsync/data',
      '/srv/charts/.chartsync/clones/x',
      '/srv/git/../charts/x',
      'file:///var/lib/chartsync/data%2Fclones/other',
      'file:///var/lib/chartsync/%64ata/clones/other',
    ])
      refusedUrl(url, policy, /data or storage directory/);
    // beside them, or a prefix of the name only: fine
    for (const url of ['/var/lib/chartsync/data2/x.git', '/srv/charts-src/x.git', '/var/lib/chartsync'])
      assert.doesNotThrow(() => checkGitUrl(url, policy), url);
  });

  test('remote helpers (ext::, fd::, any <transport>::) are refused even when everything is allowed', () => {
    for (const url of [
      'ext::sh -c touch% /tmp/pwned',
      'ext::sh',
      'fd::3',
      'fd::0,1',
      'foo::bar',
      'HTTPS::x',
      'testgit::/x',
    ]) {
      refusedUrl(url, open);
    }
  });

  test('option-like, control-character and whitespace URLs are refused', () => {
    const hostile = [
      '-uimmediately',
      '--upload-pack=touch /tmp/x',
      '--upload-pack=touch',
      'https://example.com/x.git --upload-pack=touch',
      'https://example.com/x.git\n--upload-pack=touch',
      'https://example.com/--upload-pack=touch',
      'https://example.com/x.git\0',
      'https://example.com/x\r.git',
      'https://example.com/x\t.git',
      'https://example.com/x.git -u touch',
      'ssh://-oProxyCommand=touch%20x/y',
      'ssh://-oProxyCommand=x@host/y',
      'ssh://host:-oProxyCommand=x/y',
      '-oProxyCommand=touch:x',
      'git@-oProxyCommand=x:y',
      'https://exa mple.com/x',
      'https://%E0%A4%A@exa_mple..com/x',
      '',
    ];
    for (const url of hostile) refusedUrl(url, open);
  });

  test('unknown schemes are refused with the list of accepted forms', () => {
    for (const url of ['ftp://example.com/x', 'HTTPS://example.com/x', 'javascript://x', 'gopher://x/y']) {
      refusedUrl(url, open, /unsupported transport/);
    }
  });

  test('messages name the URL without its credentials', () => {
    try {
      checkGitUrl('http://bob:hunter2-secret@example.com/x.git', strict);
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof GitError);
      assert.match(e.message, /http:\/\/example\.com\/x\.git/);
      assert.doesNotMatch(e.message, /hunter2|bob/);
    }
  });

  test('transport classification and the protocols git is allowed to use', () => {
    assert.equal(parseGitUrl('git@github.com:foo/bar.git').protocol, 'ssh');
    assert.equal(parseGitUrl('ssh+git://h/x').protocol, 'ssh');
    assert.equal(parseGitUrl('/abs').protocol, 'file');
    assert.equal(parseGitUrl('https://user:pw@h.example:8443/x').origin, 'https://h.example:8443');
    assert.deepEqual(allowedProtocols(strict), ['https', 'ssh']);
    assert.deepEqual(allowedProtocols({ allowLocal: true, allowInsecure: false }), ['https', 'ssh', 'file']);
    assert.deepEqual(allowedProtocols(open), ['https', 'ssh', 'http', 'git', 'file']);
  });
});

describe('git ref policy', () => {
  test('branches, tags, full ref names and commit ids are accepted', () => {
    for (const ref of [
      'main',
      'release/1.x',
      'v1.2.3',
      'refs/heads/main',
      'refs/tags/v1',
      'HEAD',
      'deadbee',
      'a'.repeat(40),
      'feature_x-y',
      'v1+build',
    ]) {
      assert.doesNotThrow(() => checkRef(ref), ref);
    }
  });

  test('refs that git would refuse or read as options are refused', () => {
    const bad = [
      '',
      '-u',
      '--upload-pack=touch /tmp/x',
      '--output=/tmp/x',
      '-',
      'a..b',
      '..',
      'main\n',
      'ma\0in',
      'main\r',
      'a b',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'a@{1}',
      '@',
      '/main',
      'main/',
      'a//b',
      'main.',
      '.hidden',
      'a/.b',
      'main.lock',
      'a/b.lock/c',
      'x'.repeat(256),
    ];
    for (const ref of bad) {
      assert.throws(
        () => checkRef(ref),
        (e: unknown) => e instanceof GitError && e.kind === 'policy' && /git ref .* refused/.test(e.message),
        JSON.stringify(ref),
      );
    }
  });
});

describe('scrubbing secrets', () => {
  test('userinfo is removed from every URL in a text', () => {
    assert.equal(
      redactUrlsIn("fatal: unable to access 'https://u:p@h/x/': 403"),
      "fatal: unable to access 'https://h/x/': 403",
    );
    assert.equal(redactUrlsIn('ssh://git@h/x and http://a@b/c'), 'ssh://h/x and http://b/c');
  });

  test('secret values and their URL/base64 encodings are masked, multi-line keys line by line', () => {
    const key = '-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC\n-----END KEY-----\n';
    const text = `token p@ss/w0rd! enc ${encodeURIComponent('p@ss/w0rd!')} b64 ${Buffer.from('p@ss/w0rd!').toString('base64')} key line AAAAB3NzaC1yc2EAAAADAQABAAABAQC`;
    const out = redact(text, ['p@ss/w0rd!', key, undefined]);
    assert.doesNotMatch(out, /w0rd|AAAAB3NzaC1yc2E/);
    assert.doesNotMatch(out, new RegExp(Buffer.from('p@ss/w0rd!').toString('base64')));
    assert.match(out, /token \*\*\* enc \*\*\* b64 \*\*\* key line \*\*\*/);
  });

  test('credentials in a URL are split out, for every URL form; errors never quote them', () => {
    const cases: [string, ReturnType<typeof splitUrlCredentials>][] = [
      ['https://bob:s%40cret@h/x.git', { url: 'https://h/x.git', username: 'bob', password: 's@cret' }],
      ['https://tok@h/x.git', { url: 'https://h/x.git', username: 'tok' }],
      ['https://:only-pw@h/x.git', { url: 'https://h/x.git', password: 'only-pw' }],
      ['HTTP://u:p@h:8080/x', { url: 'HTTP://h:8080/x', username: 'u', password: 'p' }],
      ['https://u:p@ss@h/x', { url: 'https://h/x', username: 'u', password: 'p@ss' }],
      ['https://u:pa ss@h/x', { url: 'https://h/x', username: 'u', password: 'pa ss' }],
      ['https://u:pa%2Fss@h/x', { url: 'https://h/x', username: 'u', password: 'pa/ss' }],
      ['https://u:p@[::1]:3000/x', { url: 'https://[::1]:3000/x', username: 'u', password: 'p' }],
      ['https://h/path@v1', { url: 'https://h/path@v1' }],
      ['https://h:8443/a@b', { url: 'https://h:8443/a@b' }],
      ['ssh://git@h/x.git', { url: 'ssh://git@h/x.git' }],
      ['git@h:x.git', { url: 'git@h:x.git' }],
      ['file:///srv/x', { url: 'file:///srv/x' }],
    ];
    for (const [input, want] of cases) assert.deepEqual(splitUrlCredentials(input), want, input);
    for (const bad of [
      'https://user:pa/ss@h/x', // "/" ends the authority: ambiguous
      'https://user:p?w@h/x',
      'https://user:p#w@h/x',
      'https://u:%zz@h/x', // malformed escape
      'https://u:50%@h/x',
      'https://%E0%A4%A:p@h/x',
      'ssh://git:hunter2@h/x.git', // ssh: keys only
      'git+ssh://git:hunter2@h/x.git',
      'git:hunter2@h:x.git',
    ]) {
      assert.throws(
        () => splitUrlCredentials(bad),
        (e: Error) => !/pa\/ss|p\?w|p#w|%zz|50%|hunter2|%E0/.test(e.message),
        bad,
      );
    }
  });

  test('redaction: no password or http user in any URL form, in URLs and in free text', () => {
    for (const [url, shown] of [
      ['https://bob:s3cret@h/x.git?token=abc#f', 'https://h/x.git'],
      ['https://user:pa/ss@h/x', 'https://h/x'],
      ['https://u:pa ss@h/x', 'https://h/x'],
      ['ssh://git:hunter2@h/x.git', 'ssh://git@h/x.git'],
      ['git:hunter2@h:x.git', 'git@h:x.git'],
      ['git@h:x.git', 'git@h:x.git'],
    ]) {
      assert.equal(redactUrl(url as string), shown, url);
    }
    assert.equal(
      redactUrlsIn("fatal: unable to access 'https://u:p/w@h/x/': 401; ssh://a:b@h/y"),
      "fatal: unable to access 'https://h/x/': 401; ssh://h/y",
    );
  });

  test('query and fragment are removed from every URL in a text, as redactUrl shows a URL', () => {
    assert.equal(
      redactUrlsIn(
        "fatal: unable to access 'https://u:p@h:9/a.git?access_token=SEKRET4#frag/': Failed; see http://h/b?x=1 and ssh://git@h/c#d",
      ),
      "fatal: unable to access 'https://h:9/a.git': Failed; see http://h/b and ssh://h/c",
    );
    assert.equal(redactUrlsIn('no URL? none # here'), 'no URL? none # here');
  });

  test("a URL's query and fragment values are secrets: masked also where they appear alone", () => {
    const url = 'https://h/a.git?access_token=SEKRET4%2Fx&ref=main&n=1#frag-SEKRET5';
    const secrets = urlSecrets(url);
    for (const s of ['access_token=SEKRET4%2Fx&ref=main&n=1', 'SEKRET4%2Fx', 'SEKRET4/x', 'frag-SEKRET5'])
      assert.ok(secrets.includes(s), s);
    // short values are no tokens: masking `main` or `1` would garble every message
    assert.ok(!secrets.includes('main') && !secrets.includes('1'), secrets.join(' '));
    assert.deepEqual(urlSecrets('https://h/a.git'), []);
    assert.deepEqual(urlSecrets('git@h:a.git'), []);
    const out = redact(
      `token SEKRET4/x, ${encodeURIComponent('SEKRET4/x')}, frag-SEKRET5 on ${url}`,
      secrets,
    );
    assert.doesNotMatch(out, /SEKRET/, out);
    assert.match(out, /token \*\*\*, \*\*\*, \*\*\* on https:\/\/h\/a\.git$/);
  });
});

describe('ref resolution from ls-remote output', () => {
  const out = [
    '1111111111111111111111111111111111111111\tHEAD',
    '2222222222222222222222222222222222222222\trefs/heads/main',
    '3333333333333333333333333333333333333333\trefs/heads/v1',
    '4444444444444444444444444444444444444444\trefs/tags/v1',
    '5555555555555555555555555555555555555555\trefs/tags/v1^{}',
    '6666666666666666666666666666666666666666\trefs/tags/light',
  ].join('\n');

  test('HEAD, branches, peeled annotated tags, lightweight tags, full names; tags before branches as git fetch does', () => {
    assert.equal(resolveRef(out, undefined)?.commit, '1'.repeat(40));
    assert.deepEqual(resolveRef(out, 'main'), { name: 'refs/heads/main', commit: '2'.repeat(40) });
    assert.deepEqual(resolveRef(out, 'v1'), { name: 'refs/tags/v1', commit: '5'.repeat(40) });
    assert.equal(resolveRef(out, 'refs/heads/v1')?.commit, '3'.repeat(40));
    assert.equal(resolveRef(out, 'light')?.commit, '6'.repeat(40));
    assert.equal(resolveRef(out, 'missing'), undefined);
  });

  test('ls-remote asks only for what the name can mean', () => {
    assert.deepEqual(lsRemoteArgs(undefined), { flags: [], patterns: ['HEAD'] });
    assert.deepEqual(lsRemoteArgs('main'), {
      flags: ['--heads', '--tags'],
      patterns: ['refs/tags/main', 'refs/tags/main^{}', 'refs/heads/main'],
    });
    assert.deepEqual(lsRemoteArgs('refs/pull/1/head'), {
      flags: [],
      patterns: ['refs/pull/1/head', 'refs/pull/1/head^{}'],
    });
  });
});

describe('ssh keys', () => {
  test('keys get LF line ends and a final newline; one-line keys with literal \\n escapes are restored', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----\n';
    assert.equal(normalizeLines(key), key);
    assert.equal(normalizeLines(key.replace(/\n/g, '\r\n')), key);
    assert.equal(normalizeLines(key.trimEnd()), key);
    assert.equal(normalizeLines(key.trimEnd().replace(/\n/g, '\\n')), key);
  });
});

describe('checkout maintenance', () => {
  test('compaction is due when packs or loose objects pile up', () => {
    assert.equal(shouldCompact({ packs: 3, loose: 10 }, 20), false);
    assert.equal(shouldCompact({ packs: 20, loose: 0 }, 20), true);
    assert.equal(shouldCompact({ packs: 1, loose: 2000 }, 20), true);
  });

  test("object counts read from the object directory agree with git's count-objects", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chartsync-counts-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
      git('init', '-q');
      for (let i = 0; i < 3; i++) {
        writeFileSync(join(dir, `f${i}`), `${i}\n`);
        git('add', '-A');
        git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', `c${i}`);
        if (i === 1) git('repack', '-q');
      }
      const field = (name: string) =>
        Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(git('count-objects', '-v'))?.[1]);
      const counts = await objectCounts(join(dir, '.git'));
      assert.deepEqual(counts, { packs: field('packs'), loose: field('count') });
      assert.ok(counts.packs >= 1 && counts.loose >= 3, JSON.stringify(counts));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('classifying git failures', () => {
  const cases: [string, string][] = [
    ["fatal: Authentication failed for 'https://h/x/'", 'auth'],
    ["fatal: could not read Username for 'https://h': terminal prompts disabled", 'auth'],
    ["fatal: unable to access 'https://h/x/': The requested URL returned error: 403", 'auth'],
    ['git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.', 'auth'],
    ['Host key verification failed.\nfatal: Could not read from remote repository.', 'auth'],
    [
      "fatal: unable to access 'https://nope.invalid/x/': Could not resolve host: nope.invalid",
      'unreachable',
    ],
    [
      "fatal: unable to access 'http://127.0.0.1:1/x/': Failed to connect to 127.0.0.1 port 1: Connection refused",
      'unreachable',
    ],
    ['ssh: connect to host 127.0.0.1 port 1: Connection refused', 'unreachable'],
    ["fatal: unable to access 'https://h/': The requested URL returned error: 502", 'unreachable'],
    ["fatal: couldn't find remote ref refs/heads/nope", 'ref'],
    ['fatal: remote error: upload-pack: not our ref 1234', 'ref'],
    ["fatal: transport 'ext' not allowed", 'policy'],
    [
      'error: unable to write file .git/objects/pack/tmp_pack_x: No space left on device\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output',
      'storage',
    ],
    ['fatal: something else entirely', 'failed'],
  ];
  for (const [stderr, kind] of cases) {
    test(`${kind}: ${stderr.split('\n')[0]}`, () => assert.equal(classifyGitOutput(stderr), kind));
  }

  test("what the server or ssh said before git's generic last words is quoted, with a hint", () => {
    // GitHub over ssh (wrong path, or a key without access)
    const github =
      'ERROR: Repository not found.\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n';
    assert.equal(
      gitLastWords(github),
      'ERROR: Repository not found. / fatal: Could not read from remote repository.',
    );
    assert.match(gitHint(github) ?? '', /no repository at this URL/);
    // GitLab over ssh
    const gitlab =
      "remote: \nremote: ========================================================================\nremote: \nremote: ERROR: The project you were looking for could not be found or you don't have permission to view it.\nremote: \nremote: ========================================================================\nremote: \nfatal: Could not read from remote repository.\n";
    assert.match(gitLastWords(gitlab), /could not be found or you don't have permission/);
    assert.match(gitHint(gitlab) ?? '', /no repository at this URL/);
    // git-upload-pack on a plain ssh server
    const plain =
      "fatal: '/srv/nope.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n";
    assert.match(gitLastWords(plain), /does not appear to be a git repository/);
    // ssh that cannot agree with an old server
    const kex =
      'Unable to negotiate with 10.0.0.1 port 22: no matching host key type found. Their offer: ssh-rsa\nfatal: Could not read from remote repository.\n';
    assert.match(gitLastWords(kex), /Unable to negotiate .* Their offer: ssh-rsa/);
  });

  test('the quoted cause prefers the telling line over git generic last words', () => {
    const words = gitLastWords(
      'Warning: x\ngit@h: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n',
    );
    assert.equal(
      words,
      'git@h: Permission denied (publickey). / fatal: Could not read from remote repository.',
    );
  });
});
