/**
 * Reads refs straight from a repository's files, so that the commonest questions need no git
 * process (a spawn costs the sidecar's event loop a fork of its whole memory, ~3 ms, far more
 * under load):
 * - which commit a checkout has checked out (headCommit: HEAD, the loose ref or packed-refs);
 * - what `git ls-remote` would answer for a local repository (localRemoteTip), the no-change
 *   check of a repository the sidecar reads from disk (a volume a git-sync container fills).
 * Anything these readers do not handle exactly as git does gives undefined, and the caller runs
 * git: reftable and other repository extensions, `.git` files and worktrees, hidden refs,
 * included config, symbolic links, a repository owned by another user (git refuses it), a tag
 * it cannot peel.
 */
import type { Stats } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { type ResolvedRef, resolveRef } from './ls-remote.js';
import { readCommitInfo } from './objects.js';
import { openRegular } from './open-regular.js';
import { localRepoPaths, transportPath } from './url-policy.js';

/** The commit HEAD points at, or undefined when it cannot be read this way (then ask git). */
export async function headCommit(gitDir: string): Promise<string | undefined> {
  const head = parseRefFile((await readText(join(gitDir, 'HEAD'))) ?? '');
  if (!head || 'id' in head) return head?.id;
  const ref = head.target;
  const loose = await readText(join(gitDir, ref));
  if (loose !== undefined) {
    const parsed = parseRefFile(loose);
    return parsed && 'id' in parsed ? parsed.id : undefined;
  }
  const packed = await readText(join(gitDir, 'packed-refs'));
  for (const line of packed?.split('\n') ?? []) {
    const [sha, name] = line.split(' ');
    if (name === ref) return asSha(sha ?? '');
  }
  return undefined;
}

/**
 * The most of packed-refs read (~4,000 refs); a larger one goes to git. Every check reads the
 * whole file on the event loop (1 MiB took 20-60 ms, 31 MiB over a second), where git searches
 * it (9-30 ms, off the event loop, which pays only the spawn's few ms).
 */
const MAX_PACKED_REFS = 256 * 1024;
/** HEAD, config and a loose ref are small files. */
const MAX_SMALL = 64 * 1024;

/**
 * What `git ls-remote <url> <patterns for ref>` resolves `ref` to (ls-remote.ts), for a local
 * repository (`/path` or `file:///path`), read from its files; undefined when only git can tell,
 * the ref not found included (git's own error then names it).
 */
export async function localRemoteTip(url: string, ref: string | undefined): Promise<ResolvedRef | undefined> {
  try {
    // (localRepoPaths throws on a URL the policy refuses)
    const paths = localRepoPaths(url);
    // a file:// URL with escapes is read by git one way or the other: git decides
    if (paths?.length !== 1 || paths[0] === undefined) return undefined;
    const repo = await openRepository(paths[0]);
    if (!repo) return undefined;
    const lines: string[] = [];
    for (const name of candidateNames(ref)) {
      const ids = await repo.read(name);
      if (ids === 'unknown') return undefined;
      if (ids) lines.push(`${ids.id}\t${name}`, ...(ids.peeled ? [`${ids.peeled}\t${name}^{}`] : []));
    }
    // a packed-refs git cannot read fails its whole listing, loose refs too; read after them, as
    // git reads a ref (one being packed is in one or the other)
    if ((await repo.packed()) === 'unknown') return undefined;
    return resolveRef(lines.join('\n'), ref);
  } catch {
    return undefined;
  }
}

/** Every name ls-remote is asked for when resolving `ref` (lsRemoteArgs' patterns, unpeeled). */
function candidateNames(ref: string | undefined): string[] {
  if (ref === undefined || ref === 'HEAD') return ['HEAD'];
  if (ref.startsWith('refs/')) return [ref];
  return [`refs/tags/${ref}`, `refs/heads/${ref}`];
}

/** A ref's object id, and the commit an annotated tag peels to. */
interface RefIds {
  id: string;
  peeled?: string;
}

interface Repository {
  /** The ref's ids; undefined when there is no such ref; 'unknown' when only git can tell. */
  read(name: string): Promise<RefIds | undefined | 'unknown'>;
  /** A regular file of the git dir (readRegular). */
  file(relative: string, max: number, encoding?: BufferEncoding): Promise<string | undefined | 'unknown'>;
  /** packed-refs (readPackedRefs), read once. */
  packed(): Promise<PackedRefs | 'unknown'>;
}

/**
 * The git dir git's transport would use for `path`, when it is one this reader takes: git
 * (upload-pack's enter_repo) drops trailing slashes, then tries `path/.git`, `path`,
 * `path.git/.git`, `path.git`, and takes the first that is a file (a `.git` file: left to git)
 * or a directory that looks like a git dir.
 */
async function openRepository(written: string): Promise<Repository | undefined> {
  const path = transportPath(written);
  for (const candidate of [`${path}/.git`, path, `${path}.git/.git`, `${path}.git`]) {
    const st = await lstatOrUndefined(candidate);
    if (!st) continue;
    if (!st.isDirectory()) return undefined; // a .git file, a link: git follows them, we do not
    const looks = await looksLikeGitDir(candidate);
    if (looks === 'no') continue;
    if (looks === 'unknown') return undefined;
    // git refuses a repository of another user (safe.directory): so does this reader, to git
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
    const repo = await repositoryAt(candidate);
    return (await plainRepository(repo)) ? repo : undefined;
  }
  return undefined;
}

/**
 * git's is_git_directory: a valid HEAD, objects/ and refs/. 'no' only where git too goes on to
 * the next spelling; 'unknown' where it would stop here though this reader does not read it: a
 * worktree's git dir (`commondir`: its objects/ and refs/ are elsewhere), a link, objects/ or
 * refs/ that is no directory (git only asks access(X_OK), which an executable file passes), a
 * HEAD that is no regular file (git opens and reads it: a FIFO makes it wait).
 */
async function looksLikeGitDir(dir: string): Promise<'yes' | 'no' | 'unknown'> {
  const [head, objects, refs, commondir] = await Promise.all(
    ['HEAD', 'objects', 'refs', 'commondir'].map((p) => lstatOrUndefined(join(dir, p))),
  );
  if (commondir) return 'unknown';
  if (!head || !objects || !refs) return 'no';
  if (!head.isFile() || !objects.isDirectory() || !refs.isDirectory()) return 'unknown';
  const text = await readChecked(join(dir, 'HEAD'), head, MAX_SMALL, 'utf8');
  return text !== undefined && parseRefFile(text) ? 'yes' : 'unknown';
}

/**
 * A repository of format 0 whose config git reads as this reader does: nothing in it can change
 * what git serves (hidden refs, included files, extensions) or make git refuse the repository
 * (a line it cannot parse, core.bare not a boolean...). Only what git itself writes is taken:
 * core's own keys, and remote and branch subsections (which nothing ls-remote runs reads), and
 * what servers commonly set without changing what is listed: upload-pack's fetch switches,
 * receive-pack's and gc's settings.
 */
async function plainRepository(repo: Repository): Promise<boolean> {
  const config = await repo.file('config', MAX_SMALL);
  if (config === 'unknown') return false;
  const entries = parseConfig(config ?? '');
  if (!entries) return false;
  let format = '0';
  for (const { section, subsection, key, value } of entries) {
    if (subsection !== undefined && (section === 'remote' || section === 'branch')) continue;
    if (UNREAD_SECTIONS.has(section)) continue;
    if (subsection !== undefined) return false;
    // upload-pack may die on one of its booleans that is none, when it reads it
    if (section === 'uploadpack' && UPLOADPACK_BOOLEANS.has(key) && isBoolean(value)) continue;
    if (section !== 'core' || !CORE_KEYS.has(key)) return false;
    // git's setup reads these two, and dies on a value it cannot parse (the last one counts)
    if (key === 'repositoryformatversion') format = value ?? '';
    if (key === 'bare' && !isBoolean(value)) return false;
  }
  return format === '0';
}

/** A value git reads as a boolean without complaint (a key without `=` is true). */
function isBoolean(value: string | undefined): boolean {
  return value === undefined || /^(true|false|yes|no|on|off|1|0|)$/i.test(value);
}

/** Sections nothing ls-remote runs reads: receive-pack's (pushes) and gc's. */
const UNREAD_SECTIONS = new Set(['receive', 'gc']);
/**
 * upload-pack's switches of what a fetch may ask for (hosting servers and test fixtures set
 * them); none changes what it lists. (Its hideRefs does: that is left to git.)
 */
const UPLOADPACK_BOOLEANS = new Set([
  'allowtipsha1inwant',
  'allowreachablesha1inwant',
  'allowanysha1inwant',
  'allowfilter',
  'allowrefinwant',
  'allowsidebandall',
]);

/** core keys git writes in a repository's config; of them, git's setup reads format and bare. */
const CORE_KEYS = new Set([
  'repositoryformatversion',
  'bare',
  'filemode',
  'logallrefupdates',
  'ignorecase',
  'symlinks',
]);

interface ConfigEntry {
  /** Section and key lower-cased, as git compares them. */
  section: string;
  subsection?: string | undefined;
  key: string;
  /** undefined for a key without `=`. */
  value?: string | undefined;
}

/**
 * A config's entries, when written the plain way git writes them; undefined for anything else
 * (git may read it otherwise, or die on it): one header or `key = value` a line, no quotes or
 * escapes, no control character (CR included). Whitespace is git's (space and tab) only: a
 * no-break space after `true` is part of the value to git.
 */
function parseConfig(text: string): ConfigEntry[] | undefined {
  const entries: ConfigEntry[] = [];
  let section: { name: string; sub?: string | undefined } | undefined;
  for (const line of text.split('\n')) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return undefined;
    if (/^[ \t]*([#;].*)?$/.test(line)) continue;
    const header = /^[ \t]*\[([A-Za-z0-9-]+)(?:[ \t]+"([^"\\]*)")?\][ \t]*([#;].*)?$/.exec(line);
    if (header) {
      section = { name: (header[1] ?? '').toLowerCase(), sub: header[2] };
      continue;
    }
    const entry = /^[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*(?:=([^"\\]*))?$/.exec(line);
    if (!entry || !section) return undefined;
    const value = entry[2]?.replace(/[#;].*$/, '').replace(/^[ \t]+|[ \t]+$/g, '');
    entries.push({
      section: section.name,
      subsection: section.sub,
      key: (entry[1] ?? '').toLowerCase(),
      value,
    });
  }
  return entries;
}

async function repositoryAt(gitDir: string): Promise<Repository> {
  const real = await realpath(gitDir);
  const file = (relative: string, max: number, encoding: BufferEncoding = 'utf8') =>
    readRegular(gitDir, real, relative, max, encoding);
  let packed: Promise<PackedRefs | 'unknown'> | undefined;
  const packedRefs = () => {
    packed ??= readPackedRefs(file);
    return packed;
  };
  const direct = async (name: string): Promise<{ id: string; loose: boolean } | undefined | 'unknown'> => {
    const loose = await file(name, MAX_SMALL);
    if (loose === 'unknown') return 'unknown';
    if (loose !== undefined) {
      const parsed = parseRefFile(loose);
      // a symbolic ref, or one git reads as broken
      return parsed && 'id' in parsed ? { id: parsed.id, loose: true } : 'unknown';
    }
    const refs = await packedRefs();
    if (refs === 'unknown') return 'unknown';
    const entry = refs.refs.get(name);
    return entry ? { id: entry.id, loose: false } : undefined;
  };
  const read = async (name: string): Promise<RefIds | undefined | 'unknown'> => {
    let target = name;
    if (name === 'HEAD') {
      const head = await file('HEAD', MAX_SMALL);
      if (head === 'unknown' || head === undefined) return 'unknown';
      const parsed = parseRefFile(head);
      if (!parsed) return 'unknown';
      if ('id' in parsed) return peel(gitDir, parsed.id, name, undefined);
      target = parsed.target;
    } else if (!isRefName(name)) return 'unknown';
    const found = await direct(target);
    if (found === undefined || found === 'unknown') return found;
    const refs = found.loose ? undefined : await packedRefs();
    const ids = await peel(gitDir, found.id, target, refs === 'unknown' ? undefined : refs);
    // git peels HEAD by reading the tag object (packed-refs' peeled line is for the ref it
    // lists), and ls-remote.ts asks for HEAD unpeeled: an annotated tag there is git's to answer
    return name === 'HEAD' && ids !== 'unknown' && ids.peeled ? 'unknown' : ids;
  };
  return { read, file, packed: packedRefs };
}

/**
 * The ids ls-remote lists for a ref at `id`: an annotated tag also gets the commit it peels to.
 * packed-refs says so for the refs its `peeled` traits cover; any other ref is peeled only when
 * its object can be read as a commit here (then it peels to itself).
 */
async function peel(
  gitDir: string,
  id: string,
  name: string,
  packed: PackedRefs | undefined,
): Promise<RefIds | 'unknown'> {
  const entry = packed?.refs.get(name);
  if (packed && entry && (packed.fullyPeeled || (packed.peeled && name.startsWith('refs/tags/'))))
    return entry.peeled ? { id, peeled: entry.peeled } : { id };
  return (await readCommitInfo(gitDir, id)) ? { id } : 'unknown';
}

interface PackedRefs {
  refs: Map<string, { id: string; peeled?: string }>;
  /** `peeled`: every annotated tag under refs/tags/ has its `^` line. */
  peeled: boolean;
  /** `fully-peeled`: every annotated tag anywhere has. */
  fullyPeeled: boolean;
}

const PACKED_HEADER = '# pack-refs with:';

/**
 * packed-refs, read as git reads it (packed-backend.c), or 'unknown' for anything git would
 * read otherwise or die on (and a dying git lists nothing, loose refs included): traits on the
 * first line only, split at single spaces; each line an id, one space and a name, or `^` and
 * the id it peels to right after one; the last line ended; "sorted" only when it is (git
 * searches the file for a prefix, and would miss a ref out of order). Read as latin1: names are
 * compared byte by byte, as git compares them.
 */
async function readPackedRefs(file: Repository['file']): Promise<PackedRefs | 'unknown'> {
  const text = await file('packed-refs', MAX_PACKED_REFS, 'latin1');
  const result: PackedRefs = { refs: new Map(), peeled: false, fullyPeeled: false };
  if (text === 'unknown') return 'unknown';
  if (!text) return result;
  if (!text.endsWith('\n')) return 'unknown';
  const lines = text.slice(0, -1).split('\n');
  let sorted = false;
  if (lines[0]?.startsWith('#')) {
    const header = lines.shift() ?? '';
    if (!header.startsWith(PACKED_HEADER)) return 'unknown';
    const traits = header.slice(PACKED_HEADER.length).split(' ');
    result.fullyPeeled = traits.includes('fully-peeled');
    result.peeled = result.fullyPeeled || traits.includes('peeled');
    sorted = traits.includes('sorted');
  }
  let last: { id: string; peeled?: string } | undefined;
  let previous: string | undefined;
  for (const line of lines) {
    if (line.startsWith('^')) {
      const peeled = /^\^([0-9a-f]{40})$/.exec(line)?.[1];
      if (!peeled || !last) return 'unknown';
      last.peeled = peeled;
      last = undefined;
      continue;
    }
    const m = /^([0-9a-f]{40}) (.+)$/.exec(line);
    const [id, name] = [m?.[1], m?.[2]];
    if (!id || !name || result.refs.has(name)) return 'unknown';
    if (sorted && previous !== undefined && !(previous < name)) return 'unknown';
    last = { id };
    previous = name;
    result.refs.set(name, last);
  }
  return result;
}

/**
 * A loose ref's or HEAD's text as git reads it (parse_loose_ref_contents): an id, or `ref:` and
 * the name of another ref; undefined for anything else. Only git's whitespace (space, tab, CR,
 * LF) is dropped, and only where git drops it: JavaScript's trim() also takes a vertical tab, a
 * form feed or a no-break space, and leading spaces, all of which make git read a broken ref.
 */
function parseRefFile(text: string): { id: string } | { target: string } | undefined {
  const trimmed = text.replace(/[ \t\r\n]+$/, '');
  if (trimmed.startsWith('ref:')) {
    const target = trimmed.slice(4).replace(/^[ \t\r\n]+/, '');
    return isRefName(target) ? { target } : undefined;
  }
  const id = asSha(trimmed);
  return id ? { id } : undefined;
}

/**
 * Only names git itself writes under refs/ (check_refname_format, in a narrower alphabet): never
 * a path that leaves the git dir, nor one git reads as a bad name (a component that starts with
 * "." or ends with ".lock", a name ending with "."), which the path would reach anyway
 * (`refs/heads/./main` is the file refs/heads/main).
 */
function isRefName(ref: string): boolean {
  if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..') || ref.endsWith('.')) return false;
  return ref.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** A SHA-1 id: the only kind a repository without extensions has (a longer one git reads as broken). */
function asSha(text: string): string | undefined {
  return /^[0-9a-f]{40}$/.test(text) ? text : undefined;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The text of the regular file `relative` in the git dir `gitDir` (`real`: its resolved path):
 * undefined when there is none (nothing there, or a directory in its place or on the way: no
 * such ref), 'unknown' for a link on its path inside the git dir (git's to follow, not ours) or
 * a file larger than `max`.
 */
async function readRegular(
  gitDir: string,
  real: string,
  relative: string,
  max: number,
  encoding: BufferEncoding,
): Promise<string | undefined | 'unknown'> {
  const path = join(gitDir, relative);
  const st = await lstatOrUndefined(path);
  if (!st || st.isDirectory()) return undefined;
  if (!st.isFile() || st.size > max) return 'unknown';
  if ((await realpath(path)) !== join(real, relative)) return 'unknown';
  return (await readChecked(path, st, max, encoding)) ?? 'unknown';
}

/**
 * The file at `path`, if it is still the regular file `checked` and at most `max` bytes:
 * anyone may replace it between its checks and this read (with a FIFO, whose open would wait
 * for ever and hold a thread of the pool; a link; a larger file). So the open follows no link
 * and waits on nothing, the file opened must be the one checked, and no more than `max` is read.
 */
async function readChecked(
  path: string,
  checked: Stats,
  max: number,
  encoding: BufferEncoding,
): Promise<string | undefined> {
  const fh = await openRegular(path).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (st.ino !== checked.ino || st.dev !== checked.dev || st.size > max) return undefined;
    // one byte more than its size: a file still growing is not read as it stood
    const buf = Buffer.alloc(st.size + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length > st.size ? undefined : buf.toString(encoding, 0, length);
  } finally {
    await fh.close();
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
