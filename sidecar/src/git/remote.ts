/**
 * The cheap "did anything change?" check: the commit a remote ref points at, from one
 * `git ls-remote` that asks only for the refs the name can mean (a local repository's refs are
 * read from its files when refs.ts can, which spares the process).
 */
import type { Logger } from 'pino';
import { splitUrlCredentials, UrlCredentialsError } from '../url/credentials.js';
import { GitError } from './errors.js';
import { checkRepositoryUrl } from './local-repo.js';
import { lsRemoteArgs, type ResolvedRef, resolveRef } from './ls-remote.js';
import { redactUrl } from './redact.js';
import { localRemoteTip } from './refs.js';
import { runGit } from './runner.js';
import { type GitAuth, type GitSession, type SessionOptions, withGitSession } from './session.js';
import {
  allowedProtocols,
  checkRef,
  isFullSha,
  isShortSha,
  parseGitUrl,
  type UrlPolicy,
} from './url-policy.js';

export interface RemoteOptions {
  url: string;
  /** Branch, tag, full ref name or commit id; the remote's HEAD when absent. */
  ref?: string | undefined;
  auth?: GitAuth | undefined;
  policy: UrlPolicy;
  /** Kill git after this long without progress (ms); default 60 s. */
  timeoutMs?: number | undefined;
  log?: Logger | undefined;
}

/**
 * The commit `ref` points at on the remote. A full commit id is returned as is without asking
 * the remote (commits never move); an abbreviated one is returned as given, lower-cased, after
 * the one ls-remote has proven the remote reachable (only a fetch can expand it).
 */
export async function remoteHead(options: RemoteOptions): Promise<string> {
  return (await remoteTip(options)).commit;
}

/**
 * remoteHead with the full name of the ref it found (`HEAD`, `refs/heads/main`...): a first
 * checkout of HEAD or a branch can then clone it in one git process. A commit id names itself.
 */
export async function remoteTip(options: RemoteOptions): Promise<ResolvedRef> {
  const o = prepareRemote(options);
  if (o.ref !== undefined && isFullSha(o.ref)) return { name: o.ref, commit: o.ref };
  // a repository on this host: its refs read from its files, as git's transport would serve them
  const local = o.policy.allowLocal ? await localRemoteTip(o.url, o.ref) : undefined;
  if (local) {
    o.log?.debug({ git: `ls-remote ${redactUrl(o.url)} (read in-process)`, ref: o.ref }, 'refs read');
    return local;
  }
  return withGitSession(sessionOptions(o), async (session) => {
    const resolved = await lsRemote(session, o);
    if (resolved) return resolved;
    if (o.ref !== undefined && isShortSha(o.ref)) return { name: o.ref, commit: o.ref };
    throw noSuchRef(o.url, o.ref);
  });
}

/**
 * The options with URL and ref checked against the policy, credentials moved out of the URL,
 * and a commit id ref lower-cased. Throws GitError 'policy' before anything runs.
 */
export function prepareRemote<T extends RemoteOptions>(o: T): T {
  checkRepositoryUrl(o.url, o.policy);
  let ref = o.ref === '' ? undefined : o.ref;
  if (ref !== undefined) {
    checkRef(ref);
    if (/^[0-9a-fA-F]{7,64}$/.test(ref)) ref = ref.toLowerCase();
  }
  const { url, auth } = withUrlCredentials(o.url, o.auth);
  return { ...o, url, auth, ref };
}

/** Credentials written into the URL become the command's auth (explicit auth wins). */
function withUrlCredentials(
  raw: string,
  auth: GitAuth | undefined,
): { url: string; auth: GitAuth | undefined } {
  try {
    const { url, username, password } = splitUrlCredentials(raw);
    if (username === undefined && password === undefined) return { url, auth };
    return {
      url,
      auth: { ...(username ? { username } : {}), ...(password ? { password } : {}), ...definedOnly(auth) },
    };
  } catch (err) {
    if (err instanceof UrlCredentialsError) throw new GitError('policy', `git URL refused: ${err.message}`);
    throw err;
  }
}

function definedOnly(auth: GitAuth | undefined): GitAuth {
  return Object.fromEntries(Object.entries(auth ?? {}).filter(([, v]) => v !== undefined && v !== ''));
}

export function sessionOptions(o: RemoteOptions & { submodules?: boolean | undefined }): SessionOptions {
  return {
    protocols: allowedProtocols(o.policy),
    auth: o.auth,
    url: o.url,
    origin: parseGitUrl(o.url).origin,
    submodules: o.submodules,
    connectTimeoutSec: o.timeoutMs ? Math.max(1, Math.ceil(o.timeoutMs / 1000)) : undefined,
  };
}

/** One `git ls-remote` for the refs `ref` can mean; the ref it resolves to, if any. */
export async function lsRemote(session: GitSession, o: RemoteOptions): Promise<ResolvedRef | undefined> {
  const { ref } = o;
  const { flags, patterns } = lsRemoteArgs(ref);
  const out = await runGit(session, ['ls-remote', ...flags, '--', o.url, ...patterns], {
    describe: describe('ls-remote', o.url, ref),
    idleTimeoutMs: o.timeoutMs,
    log: o.log,
  });
  return resolveRef(out, ref);
}

export function describe(op: string, url: string, ref: string | undefined): string {
  return `git ${op} of ${redactUrl(url)}${ref === undefined ? '' : ` (ref ${ref})`}`;
}

export function noSuchRef(url: string, ref: string | undefined): GitError {
  const what =
    ref === undefined ? 'has no HEAD (empty repository?)' : `has no branch, tag or ref named "${ref}"`;
  return new GitError('ref', `git repository ${redactUrl(url)} ${what}`);
}
