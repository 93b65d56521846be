/**
 * The git URL and ref policy, checked before any git process starts (pure, no I/O). git's own
 * `protocol.*.allow` settings enforce the same transports again at run time (see session.ts),
 * so a URL that slipped past these checks still cannot reach a forbidden transport.
 */
import { isAbsolute, resolve } from 'node:path';
import { isInside } from '../chart/secure-path.js';
import { GitError } from './errors.js';
import { redactUrl } from './redact.js';

export interface UrlPolicy {
  /** `file://` URLs and local paths (standalone mode only). */
  allowLocal: boolean;
  /** Unencrypted `http://` and `git://`. */
  allowInsecure: boolean;
  /**
   * Directories no local repository may be in (the sidecar's data and storage dirs: other
   * registrations' clones). Absolute paths.
   */
  privateDirs?: readonly string[] | undefined;
}

/** git's names for transports, as used by `protocol.<name>.allow`. */
export type GitProtocol = 'https' | 'ssh' | 'http' | 'git' | 'file';

export interface ParsedGitUrl {
  protocol: GitProtocol;
  /** `scheme://host[:port]` for network URLs: what git names when it asks for credentials. */
  origin?: string;
}

const SCHEMES: Record<string, GitProtocol> = {
  'https:': 'https',
  'http:': 'http',
  'ssh:': 'ssh',
  'git+ssh:': 'ssh',
  'ssh+git:': 'ssh',
  'git:': 'git',
  'file:': 'file',
};
const NEEDS: Record<GitProtocol, keyof UrlPolicy | undefined> = {
  https: undefined,
  ssh: undefined,
  http: 'allowInsecure',
  git: 'allowInsecure',
  file: 'allowLocal',
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const PACK_OPTIONS = /--(upload-pack|receive-pack|exec|config|template)\b/i;
const LABEL = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?';
const HOST = new RegExp(`^(\\[[0-9a-f:.]+\\]|${LABEL}(?:\\.${LABEL})*\\.?)$`, 'i');

/** The transport names git must allow for this policy, `https` and `ssh` always. */
export function allowedProtocols(policy: UrlPolicy): GitProtocol[] {
  return (Object.keys(NEEDS) as GitProtocol[]).filter((p) => {
    const flag = NEEDS[p];
    return flag === undefined || policy[flag];
  });
}

/** Throws GitError 'policy' unless `url` is a git URL this policy allows. */
export function checkGitUrl(url: string, policy: UrlPolicy): void {
  const parsed = parseGitUrl(url);
  const flag = NEEDS[parsed.protocol];
  if (flag !== undefined && !policy[flag]) {
    const what =
      parsed.protocol === 'file'
        ? 'local repositories (file:// or a path)'
        : `${parsed.protocol}:// (unencrypted)`;
    const setting =
      flag === 'allowLocal' ? 'allowLocalGit (--allow-local-git)' : 'allowInsecureGit (--allow-insecure-git)';
    throw refused(url, `${what} are not allowed here; enable ${setting} to use them`);
  }
  if (parsed.protocol === 'file') checkLocalPath(url, policy);
}

/**
 * The paths a local repository URL can mean to git: the path as written and, for a `file://`
 * URL, percent-decoded too. Undefined for any other transport.
 */
export function localRepoPaths(url: string): string[] | undefined {
  if (parseGitUrl(url).protocol !== 'file') return undefined;
  if (!/^file:/i.test(url)) return [url];
  const path = url.replace(/^file:\/\//i, '');
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // an invalid escape is kept as written: git reads it that way too
  }
  return decoded === path ? [path] : [path, decoded];
}

/**
 * A local repository's path as git's transport reads it: upload-pack (enter_repo) drops trailing
 * slashes before it tries `p/.git`, `p`, `p.git/.git`, `p.git`, so `/srv/z/` reads `/srv/z.git`.
 */
export function transportPath(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

/**
 * A local repository is an absolute path (git runs in the checkout directory, where a relative
 * one would name something of the sidecar's own), on this host (`file:///path`), and never in
 * one of the policy's private directories: as written here, and with symbolic links resolved by
 * local-repo.ts before each git command.
 */
function checkLocalPath(url: string, policy: UrlPolicy): void {
  if (/^file:/i.test(url) && !/^file:\/\/\//i.test(url))
    throw refused(url, 'a file:// URL names a path on this host: file:///path (three slashes)');
  for (const path of localRepoPaths(url) ?? []) {
    if (!isAbsolute(path))
      throw refused(
        url,
        'a local repository must be an absolute path (/srv/git/charts.git or file:///srv/git/charts.git)',
      );
    if (insideAny(resolve(path), policy.privateDirs ?? []))
      throw refused(url, "a local repository may not be inside the sidecar's data or storage directory");
  }
}

/** Whether `path` is one of `dirs` or inside one (all absolute). */
export function insideAny(path: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => isInside(resolve(dir), path));
}

/**
 * Classifies a git URL by transport, refusing anything that is not a plain URL of a known
 * transport: remote helpers (`ext::`, `fd::`, any `<transport>::`), option-like text, control
 * characters, whitespace, and hosts or users that ssh would read as options.
 */
export function parseGitUrl(url: string): ParsedGitUrl {
  if (typeof url !== 'string' || url.length === 0) throw refused('', 'the git URL is empty');
  if (url.length > 4096) throw refused(url.slice(0, 64), 'the git URL is longer than 4096 characters');
  if (CONTROL.test(url)) throw refused(url, 'the git URL contains control characters (newline, NUL, ...)');
  if (/\s/.test(url)) throw refused(url, 'the git URL contains whitespace');
  if (url.startsWith('-')) throw refused(url, 'the git URL starts with "-" (it would be read as an option)');
  if (PACK_OPTIONS.test(url))
    throw refused(url, 'the git URL contains a git option (--upload-pack, --exec, ...)');
  if (/^[a-z0-9+.-]+::/i.test(url))
    throw refused(url, 'remote helper URLs (<transport>::<address>, e.g. ext:: or fd::) are not allowed');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme !== undefined) return parseSchemeUrl(url, `${scheme}:`);
  const scp = /^(?:([^@/:]+)@)?(\[[^\]/]+\]|[^@/:]+):(.*)$/.exec(url);
  if (scp) return parseScpUrl(url, scp[1], scp[2] ?? '');
  return { protocol: 'file' };
}

function parseSchemeUrl(url: string, scheme: string): ParsedGitUrl {
  const protocol = SCHEMES[scheme];
  if (!protocol)
    throw refused(
      url,
      `unsupported transport "${scheme}//" (use https://, ssh://, git@host:path, or when allowed http://, git://, file://)`,
    );
  if (protocol === 'file') return { protocol };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refused(url, 'the git URL does not parse');
  }
  if (!parsed.hostname) throw refused(url, 'the git URL has no host');
  checkHost(url, parsed.hostname, safeDecode(parsed.username));
  return { protocol, origin: originOf(url) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseScpUrl(url: string, user: string | undefined, host: string): ParsedGitUrl {
  checkHost(url, host, user ?? '');
  return { protocol: 'ssh' };
}

function checkHost(url: string, host: string, user: string): void {
  if (host.startsWith('-') || user.startsWith('-'))
    throw refused(url, 'the host or user of the git URL starts with "-" (ssh would read it as an option)');
  if (!HOST.test(host)) throw refused(url, `the host "${host}" of the git URL is not a valid host name`);
}

/** `scheme://host[:port]` exactly as written in `url` (userinfo dropped), as git names it. */
function originOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  const authority = (m?.[2] ?? '').replace(/^.*@/, '');
  return `${m?.[1] ?? ''}${authority}`;
}

/** The policy's refusal of `url` (redacted in the message), saying why. */
export function refused(url: string, why: string): GitError {
  const shown = url ? ` ${JSON.stringify(redactUrl(url))}` : '';
  return new GitError('policy', `git URL${shown} refused: ${why}`);
}

const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const SHORT_SHA = /^[0-9a-f]{7,63}$/;

export function isFullSha(ref: string): boolean {
  return FULL_SHA.test(ref);
}

/** An abbreviated commit id: hex, 7 to 63 digits (a full id is also "short" by this test). */
export function isShortSha(ref: string): boolean {
  return SHORT_SHA.test(ref) && !FULL_SHA.test(ref);
}

/**
 * Throws GitError 'policy' unless `ref` is a branch, tag, full ref name or commit id that git
 * would accept as written (`git check-ref-format --allow-onelevel` rules), and cannot be read
 * as an option.
 */
export function checkRef(ref: string): void {
  const why = refProblem(ref);
  if (why) throw new GitError('policy', `git ref ${JSON.stringify(ref)} refused: ${why}`);
}

function refProblem(ref: string): string | undefined {
  if (typeof ref !== 'string' || ref.length === 0) return 'it is empty';
  if (ref.length > 255) return 'it is longer than 255 characters';
  if (CONTROL.test(ref)) return 'it contains control characters (newline, NUL, ...)';
  if (ref.startsWith('-')) return 'it starts with "-" (it would be read as an option)';
  if (/[\s~^:?*[\\]/.test(ref)) return 'it contains a character git forbids in refs (space ~ ^ : ? * [ \\)';
  if (ref.includes('..')) return 'it contains ".."';
  if (ref.includes('@{') || ref === '@') return 'it contains "@{" or is "@"';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'it has an empty path component';
  if (ref.endsWith('.')) return 'it ends with "."';
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return `its component "${part}" starts with "."`;
    if (part.endsWith('.lock')) return `its component "${part}" ends with ".lock"`;
  }
  return undefined;
}
