/**
 * The no-change check of a local repository reads its refs from its files (refs.ts) instead of
 * running `git ls-remote`: the answers must be git's own, for every kind of ref, and whatever the
 * reader does not handle exactly as git does (links, `.git` files, hidden refs, included config,
 * repository extensions, symbolic refs, loose annotated tags, another user's repository) must be
 * left to git, which then answers as before.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GitError, localRemoteTip, lsRemoteArgs, remoteTip, resolveRef } from '@chartsync/sidecar/git';
import { fixtureGit } from '../harness/git-server.ts';
import { captureLog } from '../harness/log-capture.ts';

const policy = { allowLocal: true, allowInsecure: false };
const tmp = mkdtempSync(join(tmpdir(), 'chartsync-local-refs-'));
const work = join(tmp, 'work');
const bare = join(tmp, 'bare.git');

/** Makes a bare repository with every kind of ref a user may name. */
before(async () => {
  await fixtureGit(['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'a.txt'), 'one\n');
  await fixtureGit(['add', '-A'], work);
  await fixtureGit(['commit', '-q', '-m', 'one'], work);
  await fixtureGit(['tag', 'v1'], work); // lightweight
  await fixtureGit(['tag', '-a', 'v2', '-m', 'annotated'], work);
  await fixtureGit(['branch', 'feature/x'], work);
  writeFileSync(join(work, 'a.txt'), 'two\n');
  await fixtureGit(['commit', '-q', '-am', 'two'], work);
  await fixtureGit(['tag', '-a', 'same', '-m', 'a tag named like a branch'], work);
  await fixtureGit(['branch', 'same', 'HEAD~1'], work);
  await fixtureGit(['update-ref', 'refs/pull/1/head', 'HEAD~1'], work);
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, bare]);
  // packed refs with peeled tags, then refs that move after packing stay loose
  await fixtureGit(['pack-refs', '--all'], bare);
  writeFileSync(join(work, 'a.txt'), 'three\n');
  await fixtureGit(['commit', '-q', '-am', 'three'], work);
  await fixtureGit(['push', '-q', bare, 'main', 'main:refs/heads/moved'], work);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const REFS = [
  undefined,
  'HEAD',
  'main',
  'refs/heads/main',
  'moved',
  'feature/x',
  'v1',
  'v2',
  'refs/tags/v2',
  'same',
  'refs/heads/same',
  'refs/pull/1/head',
  'missing',
];

/** What git's own ls-remote resolves `ref` to in the repository at `url`. */
async function gitsAnswer(url: string, ref: string | undefined) {
  return resolveRef(await fixtureGit(['ls-remote', '--', url]), ref);
}

test("a local repository's refs are read from its files as git ls-remote resolves them", async () => {
  // packed refs (peeled), and refs loose after packing: all of them read here
  for (const url of [bare, `file://${bare}`, join(tmp, 'bare')]) {
    for (const ref of REFS) {
      const ours = await localRemoteTip(url, ref);
      if (ref === 'missing') assert.equal(ours, undefined, 'a ref not found is left to git');
      else assert.deepEqual(ours, await gitsAnswer(url, ref), `${url} ${ref}`);
    }
  }
  // a work tree's repository: its annotated tags are loose (left to git), the rest read here
  for (const url of [work, `${work}/.git`]) {
    for (const ref of REFS) {
      const ours = await localRemoteTip(url, ref);
      const loose = ['v2', 'refs/tags/v2', 'same', 'missing'].includes(ref ?? '');
      if (loose) assert.equal(ours, undefined, `${url} ${ref}`);
      else assert.deepEqual(ours, await gitsAnswer(url, ref), `${url} ${ref}`);
    }
  }
});

test('the no-change check of a local repository runs no git process', async () => {
  const { log, lines } = captureLog();
  const tip = await remoteTip({ url: `file://${bare}`, ref: 'main', policy, log });
  assert.deepEqual(tip, await gitsAnswer(bare, 'main'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['refs read'],
  );
  // a ref not found is asked of git, whose answer names it
  const missing = await remoteTip({ url: bare, ref: 'missing', policy, log }).catch((e) => e);
  assert.ok(missing instanceof GitError && missing.kind === 'ref');
  await new Promise((r) => setImmediate(r));
  assert.ok(lines.some((l) => l.msg === 'git command done' && /^ls-remote/.test(l.git ?? '')));
});

/** A copy of the bare repository, changed by `alter`; `localRemoteTip` must leave it to git. */
async function leftToGit(name: string, alter: (dir: string) => unknown, ref = 'main') {
  const dir = join(tmp, `${name}.git`);
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, dir]);
  await fixtureGit(['pack-refs', '--all'], dir);
  await alter(dir);
  assert.equal(await localRemoteTip(dir, ref), undefined, `${name}: read in-process`);
  return dir;
}

test('what the reader does not handle as git does is left to git, which answers', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit;
  // refs hidden from what the repository serves: git says there is no such ref
  const hidden = await leftToGit('hidden', (d) =>
    fixtureGit(['config', 'uploadpack.hideRefs', 'refs/heads/main'], d),
  );
  await assert.rejects(remoteTip({ url: hidden, ref: 'main', policy }), (e: GitError) => e.kind === 'ref');
  // one of upload-pack's booleans that is none (git may die on it when it reads it)
  await leftToGit('bad-switch', (d) => fixtureGit(['config', 'uploadpack.allowAnySHA1InWant', 'maybe'], d));
  // config that includes other files, or a repository extension (reftable, sha256...)
  await leftToGit('include', (d) => fixtureGit(['config', 'include.path', '/dev/null'], d));
  await leftToGit('format', (d) => {
    writeFileSync(join(d, 'config'), '[core]\n\trepositoryformatversion = 1\n\tbare = true\n');
  });
  await leftToGit('extension', (d) => {
    writeFileSync(join(d, 'config'), '[core]\n\tbare = true\n[extensions]\n\tnoop = true\n');
  });
  // links: HEAD, refs/heads, a loose ref file, the repository itself
  await leftToGit('head-link', (d) => {
    renameSync(join(d, 'HEAD'), join(d, 'HEAD.real'));
    symlinkSync(join(d, 'HEAD.real'), join(d, 'HEAD'));
  });
  await leftToGit('heads-link', (d) => {
    mkdirSync(join(d, 'elsewhere'));
    writeFileSync(join(d, 'elsewhere', 'main'), `${main}\n`);
    rmSync(join(d, 'refs', 'heads'), { recursive: true, force: true });
    symlinkSync(join(d, 'elsewhere'), join(d, 'refs', 'heads'));
  });
  await leftToGit('ref-link', (d) => {
    writeFileSync(join(d, 'main-target'), `${main}\n`);
    symlinkSync(join(d, 'main-target'), join(d, 'refs', 'heads', 'main'));
  });
  const linked = join(tmp, 'linked.git');
  symlinkSync(bare, linked);
  assert.equal(await localRemoteTip(linked, 'main'), undefined);
  assert.deepEqual(await remoteTip({ url: linked, ref: 'main', policy }), await gitsAnswer(bare, 'main'));
  // a symbolic ref other than HEAD, and an annotated tag stored loose (its peeled commit unknown)
  const symbolic = await leftToGit(
    'symbolic',
    (d) => {
      writeFileSync(join(d, 'refs', 'heads', 'alias'), 'ref: refs/heads/main\n');
    },
    'alias',
  );
  assert.deepEqual(await remoteTip({ url: symbolic, ref: 'alias', policy }), {
    name: 'refs/heads/alias',
    commit: main,
  });
  const looseTag = await leftToGit(
    'loose-tag',
    (d) => fixtureGit(['tag', '-a', 'v9', '-m', 'loose', 'main'], d),
    'v9',
  );
  assert.deepEqual(await remoteTip({ url: looseTag, ref: 'v9', policy }), await gitsAnswer(looseTag, 'v9'));
  // a `.git` file naming the git dir elsewhere
  const gitFile = join(tmp, 'gitfile');
  mkdirSync(gitFile);
  writeFileSync(join(gitFile, '.git'), `gitdir: ${bare}\n`);
  assert.equal(await localRemoteTip(gitFile, 'main'), undefined);
  // another user's repository: git refuses to trust it, so the reader does not read it
  await leftToGit('foreign', (d) => {
    chownSync(d, 65534, 65534);
  });
});

/** A copy of the bare repository, its refs packed, changed by `alter`. */
async function variant(name: string, alter: (dir: string) => Promise<void> | void): Promise<string> {
  const dir = join(tmp, `${name}.git`);
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, dir]);
  await fixtureGit(['pack-refs', '--all'], dir);
  await alter(dir);
  return dir;
}

/** What the ls-remote remoteTip runs (only the refs `ref` can mean) resolves `ref` to. */
async function gitsCallAnswers(url: string, ref: string | undefined) {
  const { flags, patterns } = lsRemoteArgs(ref);
  return resolveRef(await fixtureGit(['ls-remote', ...flags, '--', url, ...patterns]), ref);
}

/** The reader leaves `ref` to git or answers as git does; where git fails, it must leave it. */
async function agreesWithGit(url: string, ref: string | undefined, label: string) {
  const ours = await localRemoteTip(url, ref);
  if (ours === undefined) return;
  const gits = await gitsCallAnswers(url, ref).catch((e: Error) => `git fails: ${e.message.split('\n')[0]}`);
  assert.deepEqual(ours, gits, `${label}: read in-process as ${JSON.stringify(ours)}`);
}

test("a loose ref or HEAD is read with git's whitespace (space, tab, CR, LF; trailing only)", async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit;
  // git reads a leading space, a vertical tab, a form feed or a no-break space as a broken ref
  for (const [i, text] of [` ${main}\n`, `${main}\v\n`, `${main}\f`, `${main}\u00a0\n`].entries()) {
    const dir = await variant(`space-${i}`, (d) => {
      writeFileSync(join(d, 'refs', 'heads', 'odd'), text);
      writeFileSync(join(d, 'HEAD'), 'ref: refs/heads/odd\n');
    });
    await agreesWithGit(dir, 'odd', JSON.stringify(text));
    await agreesWithGit(dir, 'HEAD', JSON.stringify(text));
  }
  // and git's own whitespace is read as git reads it
  const dir = await variant('space-git', (d) => {
    writeFileSync(join(d, 'refs', 'heads', 'odd'), `${main} \t\r\n`);
    writeFileSync(join(d, 'HEAD'), 'ref:\trefs/heads/odd\r\n');
  });
  assert.deepEqual(await localRemoteTip(dir, 'odd'), await gitsAnswer(dir, 'odd'));
  assert.deepEqual(await localRemoteTip(dir, 'HEAD'), await gitsAnswer(dir, 'HEAD'));
});

test('HEAD naming a ref git would not accept (a "." component, ".lock") is not read', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit;
  for (const [i, target] of [
    'refs/heads/./main',
    'refs/heads/main.lock',
    'refs/heads/.main',
    'refs/heads/main.',
  ].entries()) {
    const dir = await variant(`head-name-${i}`, (d) => {
      // the file it names is there: git still does not read it
      const name = target.slice('refs/heads/'.length);
      if (name !== './main') writeFileSync(join(d, 'refs', 'heads', name), `${main}\n`);
      writeFileSync(join(d, 'refs', 'heads', 'main'), `${main}\n`);
      writeFileSync(join(d, 'HEAD'), `ref: ${target}\n`);
    });
    await agreesWithGit(dir, 'HEAD', target);
  }
});

test('packed-refs is read only as strictly as git reads it', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit ?? '';
  const feature = (await gitsAnswer(bare, 'feature/x'))?.commit ?? '';
  const edits: Record<string, (text: string) => string> = {
    // git splits the traits at spaces: with tabs it knows no peeled tag, and peels v2 itself
    'tab-traits': (t) =>
      t
        .replace(
          /^# pack-refs with: (.*)\n/,
          (_, traits: string) => `# pack-refs with:\t${traits.trim().split(' ').join('\t')}\n`,
        )
        .replace(/(refs\/tags\/v2\n)\^[0-9a-f]+\n/, '$1'),
    // lines git dies on: all of its listing fails
    'sha256-id': (t) => `${t}${main}${'0'.repeat(24)} refs/heads/long\n`,
    'two-peeled': (t) => t.replace(/(\^[0-9a-f]+\n)/, '$1$1'),
    unterminated: (t) => t.slice(0, -1),
    'late-header': (t) => `${t.split('\n').slice(1).join('\n')}${t.split('\n')[0]}\n`,
    'crlf-peeled': (t) => t.replace(/(\^[0-9a-f]+)\n/, '$1\r\n'),
    garbage: (t) => `${t}garbage\n`,
    // "sorted" when it is not: git's search for refs/heads/ misses the ref
    'not-sorted': (t) => `${t}${feature} refs/heads/late\n`,
  };
  for (const [name, edit] of Object.entries(edits)) {
    const dir = await variant(`packed-${name}`, (d) => {
      writeFileSync(join(d, 'packed-refs'), edit(readFileSync(join(d, 'packed-refs'), 'utf8')));
      // a loose ref is no way around a packed-refs git cannot read
      writeFileSync(join(d, 'refs', 'heads', 'main'), `${main}\n`);
    });
    for (const ref of ['v2', 'main', 'refs/heads/main', 'HEAD', 'late', 'long'])
      await agreesWithGit(dir, ref, `${name} ${ref}`);
  }
});

test('a large packed-refs is left to git, which searches it instead of the event loop reading it whole', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit ?? '';
  const dir = await variant('packed-large', (d) => {
    const names = [
      'refs/heads/main',
      ...Array.from({ length: 5000 }, (_, i) => `refs/pull/${i}/head`),
    ].sort();
    const lines = names.map((name) => `${main} ${name}\n`);
    writeFileSync(join(d, 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted \n${lines.join('')}`);
  });
  assert.equal(await localRemoteTip(dir, 'main'), undefined);
  assert.deepEqual(await remoteTip({ url: dir, ref: 'main', policy }), await gitsAnswer(dir, 'main'));
});

test('a directory git takes for the git dir is not passed over for the next spelling', async () => {
  /** `<name>`, made by `make`, in front of `<name>.git`, a copy of the bare repository. */
  const inFront = async (name: string, make: (dir: string) => void) => {
    const dir = join(tmp, name);
    await fixtureGit(['clone', '-q', '--bare', '--mirror', work, `${dir}.git`]);
    mkdirSync(dir);
    make(dir);
    return dir;
  };
  // a worktree's git dir: HEAD of its own, the rest in the repository its commondir names
  const worktree = await inFront('worktree-admin', (d) => {
    writeFileSync(join(d, 'HEAD'), 'ref: refs/heads/feature/x\n');
    writeFileSync(join(d, 'commondir'), `${bare}\n`);
  });
  await agreesWithGit(worktree, 'HEAD', 'commondir');
  // objects/ an executable file: git's access(X_OK) takes it
  const objectsFile = await inFront('objects-file', (d) => {
    writeFileSync(join(d, 'HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(d, 'refs'));
    writeFileSync(join(d, 'objects'), '', { mode: 0o755 });
  });
  await agreesWithGit(objectsFile, 'main', 'objects file');
  // HEAD a FIFO: git waits on it (until killed), it does not go on to the next spelling
  const fifo = await inFront('head-fifo', (d) => {
    mkdirSync(join(d, 'refs'));
    mkdirSync(join(d, 'objects'));
    execFileSync('mkfifo', [join(d, 'HEAD')]);
  });
  assert.equal(await localRemoteTip(fifo, 'main'), undefined);
});

test('a path with trailing slashes is read where git reads it (the slashes dropped, then its spellings)', async () => {
  const dir = join(tmp, 'slash');
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, `${dir}.git`]);
  // a repository at slash/.git/.git: `slash/` + ".git/.git" spells it, git never tries it
  mkdirSync(dir);
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, join(dir, '.git', '.git')]);
  await fixtureGit(['update-ref', 'refs/heads/main', 'main~1'], join(dir, '.git', '.git'));
  for (const url of [`${dir}/`, `${dir}//`, `file://${dir}/`]) await agreesWithGit(url, 'main', url);
  assert.deepEqual(await localRemoteTip(`${dir}/`, 'main'), await gitsAnswer(`${dir}.git`, 'main'));
});

test('a path with trailing slashes does not lead git into a private directory (git drops them, then tries path.git)', async () => {
  const data = join(tmp, 'private');
  mkdirSync(join(tmp, 'public'));
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, join(data, 'other.git')]);
  symlinkSync(join(data, 'other.git'), join(tmp, 'public', 'z.git'));
  const confined = { ...policy, privateDirs: [data] };
  for (const url of [join(tmp, 'public', 'z'), join(tmp, 'public', 'z/'), `file://${tmp}/public/z//`]) {
    await assert.rejects(
      remoteTip({ url, ref: 'main', policy: confined }),
      (e: GitError) => e.kind === 'policy',
      url,
    );
  }
});

test('a repository whose config git refuses, or reads otherwise, is left to git', async () => {
  const configs: Record<string, string> = {
    'format-twice': '[core]\n\trepositoryformatversion = 0\n[core]\n\trepositoryformatversion = 2\n',
    'format-on-header-line': '[core] repositoryformatversion = 2\n',
    'format-elsewhere-first': '[x]\n\trepositoryformatversion = 0\n[core]\n\trepositoryformatversion = 2\n',
    'bad-header': '[core]\n\trepositoryformatversion = 0\n[core\n\tbare = true\n',
    'open-quote': '[core]\n\trepositoryformatversion = 0\n\tbare = "true\n',
    'bad-boolean': '[core]\n\trepositoryformatversion = 0\n\tbare = maybe\n',
    'no-break-space': '[core]\n\trepositoryformatversion = 0\n\tbare = true\u00a0\n',
    'worktree-no-value': '[core]\n\trepositoryformatversion = 0\n\tworktree\n',
    nul: '[core]\n\trepositoryformatversion = 0\n\tbare = true\n\0\n',
    'lsrefs-unborn': '[core]\n\tbare = true\n[lsrefs]\n\tunborn = maybe\n',
  };
  for (const [name, config] of Object.entries(configs)) {
    const dir = await variant(`config-${name}`, (d) => writeFileSync(join(d, 'config'), config));
    await agreesWithGit(dir, 'main', name);
  }
  // the config git itself writes is read here
  const plain = await variant('config-plain', async (d) => {
    await fixtureGit(['config', 'remote.origin.url', 'https://example.com/charts.git'], d);
    await fixtureGit(['config', 'branch.main.remote', 'origin'], d);
  });
  assert.deepEqual(await localRemoteTip(plain, 'main'), await gitsAnswer(plain, 'main'));
});

/** `promise`, or 'waits' when it is still pending after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'waits'> {
  return Promise.race([promise, new Promise<'waits'>((r) => setTimeout(() => r('waits'), ms).unref())]);
}

/** Opens each FIFO for writing and closes it: a reader waiting on one goes on (reads nothing). */
function release(fifos: string[]) {
  for (const fifo of fifos) closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
}

test("an object or pack index that is a FIFO is not waited on (a thread of the process's pool would wait for ever)", async () => {
  const fifos: string[] = [];
  const id = 'ab'.repeat(20);
  const dir = await variant('object-fifo', (d) => {
    writeFileSync(join(d, 'refs', 'heads', 'loose'), `${id}\n`);
    writeFileSync(join(d, 'refs', 'heads', 'packed'), `${'cd'.repeat(20)}\n`);
    mkdirSync(join(d, 'objects', 'ab'));
    fifos.push(join(d, 'objects', 'ab', id.slice(2)), join(d, 'objects', 'pack', 'pack-fifo.idx'));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  });
  try {
    assert.equal(await within(localRemoteTip(dir, 'loose'), 5000), undefined, 'loose object');
    assert.equal(await within(localRemoteTip(dir, 'packed'), 5000), undefined, 'pack index');
  } finally {
    release(fifos);
  }
});

test('a ref file swapped for a FIFO between its checks and its read is not waited on', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit ?? '';
  const keep = join(tmp, 'swap.fifo');
  execFileSync('mkfifo', [keep]);
  const dir = await variant('swap', (d) => writeFileSync(join(d, 'main.file'), `${main}\n`));
  // the ref is now a file, now (a hard link of) the FIFO, each put in place by a rename
  const heads = join(dir, 'refs', 'heads');
  const swap = `while :; do ln -f ${keep} ${heads}/t && mv -f ${heads}/t ${heads}/main; ln -f ${dir}/main.file ${heads}/t && mv -f ${heads}/t ${heads}/main; done`;
  const swapper = spawn('sh', ['-c', swap], { stdio: 'ignore' });
  try {
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const tip = await within(localRemoteTip(dir, 'refs/heads/main'), 2000);
      assert.ok(tip !== 'waits', 'the reader waits');
      if (tip) assert.equal(tip.commit, main);
    }
  } finally {
    swapper.kill();
    release([keep]);
  }
});

test('a URL the policy refuses gives undefined (only git can tell), not an exception', async () => {
  for (const url of ['', 'a b', '-x', 'ext::sh -c id'])
    assert.equal(await localRemoteTip(url, 'main'), undefined, url);
});

test('HEAD naming an annotated tag is left to git (which peels HEAD from the tag object, not from packed-refs)', async () => {
  const main = (await gitsAnswer(bare, 'main'))?.commit ?? '';
  const tagged = await variant('head-tag', (d) => writeFileSync(join(d, 'HEAD'), 'ref: refs/tags/v2\n'));
  await agreesWithGit(tagged, 'HEAD', 'HEAD -> refs/tags/v2');
  // a peeled line that is not the tag's commit: git's HEAD^{} is still the tag's
  const lying = await variant('head-tag-lie', (d) => {
    writeFileSync(join(d, 'HEAD'), 'ref: refs/tags/v2\n');
    const packed = readFileSync(join(d, 'packed-refs'), 'utf8');
    writeFileSync(join(d, 'packed-refs'), packed.replace(/(refs\/tags\/v2\n)\^[0-9a-f]+/, `$1^${main}`));
  });
  await agreesWithGit(lying, 'HEAD', 'HEAD -> refs/tags/v2, peeled line not its commit');
  const ours = await localRemoteTip(lying, 'HEAD');
  assert.ok(ours === undefined || ours.commit === (await gitsAnswer(lying, 'HEAD'))?.commit);
});

test("a server's usual settings (upload-pack's fetch switches, receive-pack's and gc's) are read past", async () => {
  const dir = join(tmp, 'hosted.git');
  await fixtureGit(['clone', '-q', '--bare', '--mirror', work, dir]);
  for (const [key, value] of [
    ['uploadpack.allowAnySHA1InWant', 'true'],
    ['uploadpack.allowFilter', 'yes'],
    ['receive.denyNonFastForwards', 'true'],
    ['receive.fsck.badDate', 'ignore'],
    ['gc.auto', '0'],
  ])
    await fixtureGit(['config', key as string, value as string], dir);
  const ours = await localRemoteTip(dir, 'main');
  assert.ok(ours, 'read in-process');
  assert.deepEqual(ours, await gitsAnswer(dir, 'main'));
});
