/**
 * A working copy of one ref, kept current: a shallow fetch of exactly the wanted commit into a
 * fresh repository the first time (one shallow `git clone` when the commit is the tip of HEAD or
 * a branch), then fetch + hard reset + clean on every update (never a merge), so force-pushes
 * and deleted files are followed exactly. A failed update leaves the previous checkout untouched;
 * a checkout over the size cap is removed whole (the next sync clones afresh).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { removeTree } from '../storage/remove-tree.js';
import {
  checkCheckoutSize,
  checkObjectStoreSize,
  DEFAULT_MAX_CHECKOUT_SIZE,
  type MeasureCheckout,
  takeCounted,
} from './checkout-size.js';
import { removeStaleLocks, removeStaleTemps, serialized } from './dir-lock.js';
import { GitError } from './errors.js';
import { readIndexTrees } from './index-trees.js';
import { checkRepositoryUrl } from './local-repo.js';
import type { ResolvedRef } from './ls-remote.js';
import { compact, compactIfNeeded } from './maintenance.js';
import { type CommitInfo, readCommitInfo } from './objects.js';
import { redactUrl } from './redact.js';
import { headCommit } from './refs.js';
import {
  describe,
  lsRemote,
  noSuchRef,
  prepareRemote,
  type RemoteOptions,
  sessionOptions,
} from './remote.js';
import { runGit } from './runner.js';
import { type GitSession, withGitSession } from './session.js';
import { listDirsArgs, parseDirListing } from './tree.js';
import { isFullSha, isShortSha, localRepoPaths } from './url-policy.js';

/**
 * No template directory: a checkout gets no hooks (not even the inert samples: ~15 files written
 * per clone) and so runs none a host's template directory might hold (post-checkout).
 */
const NO_TEMPLATE = '--template=';

export interface CheckoutOptions extends RemoteOptions {
  /** The working copy; created (with its parents) when absent. */
  dir: string;
  /** Also check out submodules (only over transports the policy allows). Default false. */
  submodules?: boolean | undefined;
  /**
   * What the ref resolved to just now (remoteTip), when `ref` is that commit. A first checkout
   * of HEAD or a branch clones it in one git process instead of init + fetch + reset; without
   * a tip, only HEAD or a full `refs/heads/` name can be cloned unresolved.
   */
  tip?: ResolvedRef | undefined;
  /** The most the working copy may hold on disk (bytes, `.git` aside); default 1 GiB. */
  maxSize?: number | undefined;
  /**
   * Measures the working copy against maxSize; default: on this thread. A walk of 17,000 files
   * touches ~8 MiB the caller's thread may not need to keep (the sidecar runs it on a build thread).
   */
  measure?: MeasureCheckout | undefined;
}

export interface CheckoutResult {
  commit: string;
  /** Committer time of `commit`: the reproducible mtime for archives built from it. */
  commitTime: Date;
  /** The tree id of every directory of `commit` (relative path, '' for the root). */
  trees: Map<string, string>;
}

/** Where a fetched named ref lands (never a branch: nothing ever merges into it). */
const FETCHED = 'refs/chartsync/fetched';

interface Ctx {
  o: CheckoutOptions;
  s: GitSession;
  /** A new repository nothing was fetched into yet: nothing to look for locally. */
  fresh: boolean;
  /** Something was fetched in this run (so there may be garbage to compact). */
  fetched: boolean;
  /** Git commands started ahead of their use, each settling without failing. */
  ahead: Promise<void>[];
  /** Started right after a fetch is. */
  whileFetching?: () => void;
}

// simple-git waits 50 ms after any git command that printed nothing, so the commands below are
// chosen (and run without -q) to always say something.
export async function syncCheckout(options: CheckoutOptions): Promise<CheckoutResult> {
  const o = prepareRemote(options);
  return serialized(o.dir, () => checkout(o));
}

async function checkout(o: CheckoutOptions): Promise<CheckoutResult> {
  // a .git without HEAD is the remains of an interrupted `git init`: start over
  if (existsSync(join(o.dir, '.git')) && !existsSync(join(o.dir, '.git', 'HEAD'))) {
    o.log?.warn({ dir: o.dir }, 'checkout has a broken .git; cloning afresh');
    await removeTree(o.dir);
  }
  const fresh = !existsSync(join(o.dir, '.git'));
  if (fresh) await ensureEmptyDir(o.dir, o.log);
  else {
    const removed = [
      ...(await removeStaleLocks(join(o.dir, '.git'))),
      ...(await removeStaleTemps(join(o.dir, '.git'))),
    ];
    if (removed.length)
      o.log?.warn({ dir: o.dir, removed }, 'removed files left by an interrupted git command');
  }
  // what the last count found, taken before anything moves (a count from the index needs it)
  const counted = fresh ? {} : await takeCounted(o.dir);
  try {
    const result = await withGitSession(sessionOptions(o), async (s) => {
      const ctx: Ctx = { o, s, fresh, fetched: false, ahead: [] };
      try {
        const updated = await update(ctx);
        if (ctx.fetched) await objectsWithinCap(ctx, updated.commit);
        return updated;
      } finally {
        // no git process started ahead outlives the checkout, whatever failed
        await Promise.all(ctx.ahead);
      }
    });
    // Every checkout that got here moved the working copy or retries failed charts (a sync
    // with no change never asks for one): counted each time, walking only the directories
    // whose tree is new since the last count.
    const known = { trees: result.trees, before: counted };
    const checked = { dir: o.dir, what: describe('checkout', o.url, o.ref) };
    await checkCheckoutSize(checked, result.commit, o.maxSize ?? DEFAULT_MAX_CHECKOUT_SIZE, known, o.measure);
    return result;
  } catch (err) {
    // an oversized checkout goes whole, its .git too: the next sync clones afresh (removeTree:
    // one too deep for the file system's calls too)
    if (fresh || (err instanceof GitError && err.kind === 'size')) await removeTree(o.dir);
    // what a fetch cut short received stays no longer than this sync (the checkout is kept)
    else await removeStaleTemps(join(o.dir, '.git'));
    throw err;
  }
}

/**
 * Fetch, reset and clean, with the commands that do not depend on each other side by side, and
 * the directories' tree ids read from the index the reset writes. A reset to a commit that is
 * not here fails without touching the working copy; with submodules, the reset waits until their
 * URLs passed. A look for stray files still running while the reset starts can only see too much
 * (files the reset writes), which costs one needless `clean`; it takes no lock the reset needs.
 */
async function update(ctx: Ctx): Promise<CheckoutResult> {
  const { o } = ctx;
  if (ctx.fresh && !o.submodules) {
    const commit = await cloneFirst(ctx);
    if (commit && (!o.tip || commit === o.tip.commit)) return cloned(ctx, commit);
    // (the branch moved between ls-remote and clone: on to the wanted commit, as any update)
  }
  const { fresh } = ctx;
  // Files not from git are looked for while the fetch runs: a reset only overwrites or deletes
  // files, so what is stray before it is what may be stray after it. With submodules, a
  // removed one leaves its directory behind: looked for after the reset then.
  let strays: Promise<boolean> | undefined;
  // started once the fetch is (the longer command goes first: each spawn holds the event loop)
  const lookForStrays = () => {
    strays ??= ahead(ctx, hasStrays(ctx));
  };
  if (!fresh && !o.submodules) ctx.whileFetching = lookForStrays;
  if (fresh) await git(ctx, ['init', NO_TEMPLATE], 'init');
  const commit = await fetchCommit(ctx);
  if (!fresh && !o.submodules) lookForStrays(); // nothing was fetched
  const info = await (o.submodules ? checkedBeforeReset(ctx, commit) : inParallel(ctx, commit));
  // (a checkout made just now holds nothing but the commit: nothing to look for)
  const [trees, dirty] = await Promise.all([
    dirTrees(ctx, commit, info.tree),
    strays ?? (!fresh && hasStrays(ctx)),
  ]);
  if (dirty) await git(ctx, ['clean', '-ffdx'], 'clean');
  if (ctx.fetched) await compactIfNeeded(join(o.dir, '.git'), (args) => git(ctx, args, args[0] ?? 'git'));
  if (o.submodules) await updateSubmodules(ctx);
  return { commit, commitTime: info.time, trees };
}

/**
 * What git keeps of the fetches stays in the data dir as long as the working copy does: the
 * cap bounds it too (checkout-size.ts), compacted first when over it.
 */
async function objectsWithinCap(ctx: Ctx, commit: string): Promise<void> {
  const { o } = ctx;
  const gitDir = join(o.dir, '.git');
  const checked = { dir: o.dir, what: describe('checkout', o.url, o.ref) };
  await checkObjectStoreSize(checked, commit, o.maxSize ?? DEFAULT_MAX_CHECKOUT_SIZE, () =>
    compact(gitDir, (args) => git(ctx, args, args[0] ?? 'git')),
  );
}

/**
 * Clones HEAD or a branch into the empty directory, shallow and without tags: one git process
 * (git's own helpers are cheap to start, a process started by this server costs it a fork of
 * its whole memory). Answers the commit checked out, or undefined (nothing done) when `git
 * clone` cannot name the ref exactly: a tag (asked by a short name, clone prefers a branch of
 * the same name, ls-remote the tag), a short name not yet resolved, a commit id, any other ref.
 */
async function cloneFirst(ctx: Ctx): Promise<string | undefined> {
  const { ref, tip } = ctx.o;
  if (tip && ref !== tip.commit) return undefined;
  const branch = cloneArgs(tip ? tip.name : ref);
  if (!branch) return undefined;
  // --no-local: a path is fetched through git's transport like any URL (a local clone would
  // copy or hard-link every object of the source, its whole history, instead).
  const args = [
    'clone',
    NO_TEMPLATE,
    '--progress',
    '--no-local',
    '--depth=1',
    '--no-tags',
    '--no-recurse-submodules',
  ];
  await git(ctx, [...args, ...branch, '--', ctx.o.url, '.'], 'clone');
  ctx.fresh = false;
  ctx.fetched = true;
  // An empty repository, or a HEAD that names no branch, clones "successfully" into nothing.
  // HEAD is read from .git when refs.ts can; a branch name it does not read (`release+1`,
  // `développement`: refs.ts takes a narrow alphabet) is git's to resolve.
  const commit =
    (await headCommit(join(ctx.o.dir, '.git'))) ??
    (await revParse(ctx, 'HEAD^{commit}').catch(() => undefined));
  if (!commit) throw noSuchRef(ctx.o.url, ref);
  return commit;
}

/** The arguments that make `git clone` check out exactly `ref` (HEAD or a full branch name). */
function cloneArgs(ref: string | undefined): string[] | undefined {
  if (ref === undefined || ref === 'HEAD') return [];
  if (ref.startsWith('refs/heads/')) return ['--branch', ref.slice('refs/heads/'.length)];
  return undefined;
}

/**
 * Whether a first checkout of `ref` needs it resolved beforehand: not for HEAD or a full
 * branch name, which its clone names exactly (and answers the commit of).
 */
export function resolvedByClone(ref: string | undefined): boolean {
  return cloneArgs(ref) !== undefined;
}

/** A clone checked out `commit`: its details and its directories' tree ids are all that is left. */
async function cloned(ctx: Ctx, commit: string): Promise<CheckoutResult> {
  const info = await commitInfo(ctx, commit);
  return { commit, commitTime: info.time, trees: await dirTrees(ctx, commit, info.tree) };
}

/**
 * Every directory's tree id: from the index the clone or reset has just written (its root must
 * be the commit's), else from one `git ls-tree` of the commit.
 */
async function dirTrees(ctx: Ctx, commit: string, rootTree: string): Promise<Map<string, string>> {
  const indexed = await readIndexTrees(join(ctx.o.dir, '.git'), rootTree);
  if (indexed) return indexed;
  return parseDirListing(rootTree, await git(ctx, listDirsArgs(commit), 'ls-tree'));
}

/** `p`, remembered so that the checkout waits for it even when something else fails first. */
function ahead<T>(ctx: Ctx, p: Promise<T>): Promise<T> {
  ctx.ahead.push(p.then(noop, noop));
  return p;
}

/**
 * Whether the working copy holds untracked or ignored files (anything not from git). Without
 * optional locks: it may run beside a fetch or a reset, and must never hold the index lock.
 */
async function hasStrays(ctx: Ctx): Promise<boolean> {
  const status = await git(
    ctx,
    ['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--ignored', '--untracked-files=all'],
    'status',
  );
  return /^[?!] /m.test(status);
}

/**
 * The checkout directory is the sidecar's own (`<data-dir>/clones/<repo>`): files there without
 * a `.git` are the remains of a removal or a first clone killed half-way (`.git` goes first, or
 * never came). They would block the repo for good; they go, and the clone starts afresh.
 */
async function ensureEmptyDir(dir: string, log: CheckoutOptions['log']): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length === 0) return;
  log?.warn(
    { dir },
    'checkout directory holds files but no .git (an interrupted removal or clone); cloning afresh',
  );
  await removeTree(dir);
  await mkdir(dir, { recursive: true });
}

/** Fetches what the ref names (unless already here) and returns its commit id. */
async function fetchCommit(ctx: Ctx): Promise<string> {
  const { ref } = ctx.o;
  if (ref !== undefined && isFullSha(ref)) return fetchFullSha(ctx, ref);
  if (ref !== undefined && isShortSha(ref)) {
    const resolved = await lsRemote(ctx.s, ctx.o);
    return resolved ? fetchNamed(ctx, resolved.name, resolved.commit) : fetchShortSha(ctx, ref);
  }
  const resolved = await lsRemote(ctx.s, ctx.o);
  if (!resolved) throw noSuchRef(ctx.o.url, ref);
  return fetchNamed(ctx, resolved.name, resolved.commit);
}

async function fetchNamed(ctx: Ctx, name: string, expected: string): Promise<string> {
  if (await checkedOut(ctx, expected)) return expected;
  await fetch(ctx, ['--depth=1'], [`+${name}:${FETCHED}`]);
  return revParse(ctx, `${FETCHED}^{commit}`);
}

async function fetchFullSha(ctx: Ctx, sha: string): Promise<string> {
  if (await checkedOut(ctx, sha)) return sha;
  try {
    await fetch(ctx, ['--depth=1'], [sha]);
  } catch (err) {
    // servers that refuse unadvertised commits: fetch everything, then look for it
    if (!(err instanceof GitError) || err.kind !== 'ref') throw err;
    await fetchAll(ctx);
    if (!(await hasCommit(ctx, sha))) throw noSuchCommit(ctx, sha);
  }
  // A fetch of one commit that succeeded brought it: commitInfo() proves it once more anyway.
  return sha;
}

function noSuchCommit(ctx: Ctx, sha: string): GitError {
  return new GitError('ref', `${describe('fetch', ctx.o.url, sha)} failed (ref not found): no such commit`);
}

async function fetchShortSha(ctx: Ctx, short: string): Promise<string> {
  if (!(await hasCommit(ctx, short))) await fetchAll(ctx);
  const full = await revParse(ctx, `${short}^{commit}`).catch(() => undefined);
  if (!full)
    throw new GitError(
      'ref',
      `${describe('fetch', ctx.o.url, short)} failed (ref not found): no commit starts with ${short}`,
    );
  return full;
}

async function fetchAll(ctx: Ctx): Promise<void> {
  const unshallow = existsSync(join(ctx.o.dir, '.git', 'shallow')) ? ['--unshallow'] : [];
  await fetch(ctx, unshallow, ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
}

async function fetch(ctx: Ctx, flags: string[], refspecs: string[]): Promise<void> {
  const recurse = ctx.o.submodules ? [] : ['--no-recurse-submodules'];
  const fetching = git(
    ctx,
    // --progress: a long transfer keeps talking, so the idle timeout only catches a stall
    [
      'fetch',
      '--progress',
      '--no-tags',
      '--no-write-fetch-head',
      ...recurse,
      ...flags,
      '--',
      ctx.o.url,
      ...refspecs,
    ],
    'fetch',
  );
  ctx.whileFetching?.();
  await fetching;
  ctx.fresh = false;
  ctx.fetched = true;
}

/**
 * Whether `sha` is the commit checked out, known without a git process. Any other commit is
 * fetched straight away: in an update that is the common case (a new commit), and a commit that
 * happens to be here already costs the fetch only a short negotiation.
 */
async function checkedOut(ctx: Ctx, sha: string): Promise<boolean> {
  return !ctx.fresh && (await headCommit(join(ctx.o.dir, '.git'))) === sha;
}

async function hasCommit(ctx: Ctx, rev: string): Promise<boolean> {
  if (ctx.fresh) return false;
  return (await revParse(ctx, `${rev}^{commit}`).catch(() => '')) !== '';
}

async function revParse(ctx: Ctx, rev: string): Promise<string> {
  return (await git(ctx, ['rev-parse', '--verify', rev], 'rev-parse')).trim();
}

const noop = () => undefined;

/**
 * The committer time and root tree of `commit`, which must be here (a ref error otherwise):
 * read from the object store when it can be, else from `git show`.
 */
async function commitInfo(ctx: Ctx, commit: string): Promise<CommitInfo> {
  const read = await readCommitInfo(join(ctx.o.dir, '.git'), commit);
  if (read) return read;
  const out = await git(ctx, ['show', '-s', '--format=%ct %T', `${commit}^{commit}`], 'show').catch(
    (err: unknown) => {
      if (err instanceof GitError && err.kind !== 'unreachable') throw noSuchCommit(ctx, commit);
      throw err;
    },
  );
  const [time = '', tree = ''] = out.trim().split(' ');
  return { time: new Date(Number(time) * 1000), tree };
}

/** With submodules: their URLs are checked between proving the commit and moving to it. */
async function checkedBeforeReset(ctx: Ctx, commit: string): Promise<CommitInfo> {
  const info = await commitInfo(ctx, commit);
  await checkSubmoduleUrls(ctx, commit);
  await git(ctx, ['reset', '--hard', commit], 'reset');
  return info;
}

/**
 * The commit's details and the reset at once. A reset to a commit that is not here fails
 * without touching the working copy; the answer is then commitInfo's clearer error.
 */
async function inParallel(ctx: Ctx, commit: string): Promise<CommitInfo> {
  const resetting = git(ctx, ['reset', '--hard', commit], 'reset');
  const [info, reset] = await Promise.allSettled([commitInfo(ctx, commit), resetting]);
  if (info.status === 'rejected') throw info.reason;
  if (reset.status === 'rejected') throw reset.reason;
  return info.value;
}

/**
 * Every absolute submodule URL of `commit` must pass the URL policy; checked before the working
 * copy moves, so a refused submodule leaves the previous checkout as it was. Relative URLs
 * resolve against the (already checked) superproject URL; git's protocol allow-list checks
 * nested submodules again.
 */
async function checkSubmoduleUrls(ctx: Ctx, commit: string): Promise<void> {
  const out = await git(
    ctx,
    ['config', '--blob', `${commit}:.gitmodules`, '--get-regexp', '^submodule\\..*\\.url$'],
    'config',
  ).catch(() => '');
  for (const line of out.split('\n').filter(Boolean)) {
    const [key = '', raw = ''] = line.split(/ (.*)/s);
    const url = submoduleUrl(raw, ctx.o.url);
    if (url === undefined) continue;
    try {
      checkRepositoryUrl(url, ctx.o.policy);
    } catch (err) {
      const name = key.replace(/^submodule\.|\.url$/g, '');
      throw new GitError('policy', `submodule ${name} of ${redactUrl(ctx.o.url)}: ${(err as Error).message}`);
    }
  }
}

/**
 * The URL a submodule's URL means: a relative one resolves against the superproject's (as git
 * does); it is checked again only when that is a local path, which it may climb out of (a
 * network superproject's relative submodules stay on its server, with its transport).
 */
function submoduleUrl(raw: string, superUrl: string): string | undefined {
  if (!raw.startsWith('./') && !raw.startsWith('../')) return raw;
  const base = localRepoPaths(superUrl)?.at(-1);
  return base === undefined ? undefined : resolve(base, raw);
}

async function updateSubmodules(ctx: Ctx): Promise<void> {
  if (!existsSync(join(ctx.o.dir, '.gitmodules'))) return;
  // relative submodule URLs resolve against the superproject's remote
  await git(ctx, ['config', 'remote.origin.url', ctx.o.url], 'config');
  // One level: the URLs checked above are the superproject's; a submodule's own submodules
  // would be fetched from URLs nothing here looked at.
  await git(ctx, ['submodule', 'update', '--init', '--depth=1'], 'submodule update');
}

// Commands that talk to a remote; the others are local and may be quiet for long on big
// repositories (gc, reset), so only the overall deadline limits them.
const NETWORK = new Set(['clone', 'fetch', 'ls-remote', 'submodule']);
const LOCAL_IDLE_TIMEOUT_MS = 10 * 60_000;

function git(ctx: Ctx, args: string[], op: string): Promise<string> {
  const network = NETWORK.has(args[0] ?? '');
  return runGit(ctx.s, args, {
    cwd: ctx.o.dir,
    describe: describe(op, ctx.o.url, ctx.o.ref),
    idleTimeoutMs: network ? ctx.o.timeoutMs : LOCAL_IDLE_TIMEOUT_MS,
    log: ctx.o.log,
  });
}
