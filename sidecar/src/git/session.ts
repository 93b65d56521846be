/**
 * The environment one git operation runs in: an isolated, throwaway HOME (no user or system
 * config leaks in), git's own protocol allow-list, no prompts, and credentials handed over per
 * command through files in that HOME that are deleted afterwards. Nothing here ever writes a
 * credential into a URL or a repository's config.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { urlSecrets } from '../url/credentials.js';
import type { GitProtocol } from './url-policy.js';

export interface GitAuth {
  /** HTTPS user; defaults to `x-access-token` when only a password/token is given. */
  username?: string;
  /** HTTPS password or access token. */
  password?: string;
  /** SSH private key (PEM / OpenSSH format, unencrypted). */
  sshKey?: string;
  /** known_hosts lines for the SSH server; host keys are always checked strictly. */
  knownHosts?: string;
}

export interface SessionOptions {
  /** The transports git may use (`protocol.allow=never` for everything else). */
  protocols: readonly GitProtocol[];
  auth?: GitAuth | undefined;
  /** The repository URL (its user info split out): its query and fragment values are secrets. */
  url?: string | undefined;
  /** `scheme://host[:port]` that HTTPS credentials are given to; other hosts get none. */
  origin?: string | undefined;
  /** Whether submodules may be fetched at all (still only over `protocols`). */
  submodules?: boolean | undefined;
  /** Seconds a connection may take or stall before git gives up. */
  connectTimeoutSec?: number | undefined;
}

export interface GitSession {
  env: Record<string, string>;
  /** Every secret of this session, for scrubbing output. */
  secrets: string[];
}

export const DEFAULT_HTTP_USER = 'x-access-token';

const SESSION_PREFIX = 'git-';
/** Where sessions live: the sidecar's own dir once `useSecretsDir` ran, else the system temp dir. */
let sessionsRoot: string | undefined;

/**
 * Keeps every session's files (private keys, askpass) under `dir` (mode 0700), and removes what
 * sessions of an earlier run left there: a process killed with SIGKILL during an ssh command
 * never ran its cleanup, and its key must not stay on disk for good. Called once at start-up,
 * before any git command, by the one process that owns `dir`.
 */
export async function useSecretsDir(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const stale = (await readdir(dir)).filter((e) => e.startsWith(SESSION_PREFIX));
  await Promise.all(stale.map((e) => rm(join(dir, e), { recursive: true, force: true })));
  sessionsRoot = dir;
  return stale.length;
}

/** Runs `fn` in a fresh session and deletes the session's files (keys, helpers) afterwards. */
export async function withGitSession<T>(o: SessionOptions, fn: (s: GitSession) => Promise<T>): Promise<T> {
  const home = await mkdtemp(
    join(sessionsRoot ?? tmpdir(), sessionsRoot ? SESSION_PREFIX : `chartsync-${SESSION_PREFIX}`),
  );
  try {
    return await fn(await prepare(home, o));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

async function prepare(home: string, o: SessionOptions): Promise<GitSession> {
  const auth = o.auth ?? {};
  const timeout = o.connectTimeoutSec ?? 30;
  const basic = basicCredentials(auth);
  const env: Record<string, string> = {
    ...passThrough(),
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    LC_ALL: 'C',
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_ASKPASS: '/bin/false',
    ...configEnv([...gitConfig(o, timeout), ...preemptiveAuth(o.origin, basic)]),
  };
  if (auth.password || auth.username) {
    env.GIT_ASKPASS = await writeAskpass(home);
    env.CHARTSYNC_ASKPASS_ORIGIN = o.origin ?? '';
    env.CHARTSYNC_ASKPASS_USERNAME = auth.username || DEFAULT_HTTP_USER;
    env.CHARTSYNC_ASKPASS_PASSWORD = auth.password ?? '';
  }
  env.GIT_SSH_COMMAND = await sshCommand(home, auth, timeout);
  return {
    env,
    secrets: [auth.password, auth.sshKey && normalizeLines(auth.sshKey), basic, ...urlSecrets(o.url)].filter(
      (s): s is string => Boolean(s),
    ),
  };
}

/** base64 of `user:password` for HTTP basic auth, when there are HTTP credentials. */
function basicCredentials(auth: GitAuth): string | undefined {
  if (!auth.password && !auth.username) return undefined;
  return Buffer.from(`${auth.username || DEFAULT_HTTP_USER}:${auth.password ?? ''}`).toString('base64');
}

/**
 * Sends the credentials with the first request to the repository's own origin (git's
 * URL-scoped `http.<url>.extraHeader`), which saves the 401 round trip of git's credential
 * prompt on every check. Requests to any other origin never match; redirects are not followed.
 */
function preemptiveAuth(origin: string | undefined, basic: string | undefined): [string, string][] {
  if (!basic || !origin || !/^https?:\/\//.test(origin)) return [];
  return [[`http.${origin}/.extraHeader`, `Authorization: Basic ${basic}`]];
}

/** The settings every git command gets, as `key=value` pairs. */
function gitConfig(o: SessionOptions, timeoutSec: number): [string, string][] {
  const recurse = o.submodules ? 'true' : 'false';
  return [
    ['protocol.allow', 'never'],
    ...o.protocols.map((p): [string, string] => [`protocol.${p}.allow`, 'always']),
    // a redirect could lead to another host or transport; callers give the final URL
    ['http.followRedirects', 'false'],
    ['http.lowSpeedLimit', '1'],
    ['http.lowSpeedTime', String(timeoutSec)],
    ['submodule.recurse', recurse],
    ['fetch.recurseSubmodules', recurse],
    // no background gc/maintenance processes outliving the command
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    // old commits become unreachable at once (no reflog) and each fetch stays one pack, so
    // checkout.ts can tell when to compact
    ['core.logAllRefUpdates', 'false'],
    ['fetch.unpackLimit', '1'],
    ['init.defaultBranch', 'main'],
    ['advice.detachedHead', 'false'],
  ];
}

function configEnv(pairs: [string, string][]): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

const PASS_THROUGH =
  /^(PATH|TMPDIR|https?_proxy|no_proxy|all_proxy|HTTPS?_PROXY|NO_PROXY|ALL_PROXY|SSL_CERT_FILE|SSL_CERT_DIR|GIT_SSL_CAINFO|GIT_SSL_CAPATH)$/;

/** The only parts of our own environment git sees: where programs are, proxies, CA bundles. */
function passThrough(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && PASS_THROUGH.test(k)) env[k] = v;
  return env;
}

// Answers git's credential prompts from the environment, and only for the expected origin, so
// a submodule or redirect pointing at another host never receives the credentials.
const ASKPASS = `#!/bin/sh
prompt=$1
origin=\${prompt#*\\'}
origin=\${origin%\\'*}
case $origin in *://*@*) origin="\${origin%%://*}://\${origin#*@}" ;; esac
[ -n "$CHARTSYNC_ASKPASS_ORIGIN" ] && [ "$origin" = "$CHARTSYNC_ASKPASS_ORIGIN" ] || exit 1
case $prompt in
  Username*) printf '%s\\n' "$CHARTSYNC_ASKPASS_USERNAME" ;;
  Password*) printf '%s\\n' "$CHARTSYNC_ASKPASS_PASSWORD" ;;
  *) exit 1 ;;
esac
`;

async function writeAskpass(home: string): Promise<string> {
  const path = join(home, 'askpass');
  await writeFile(path, ASKPASS, { mode: 0o700 });
  return path;
}

/**
 * ssh that uses exactly the given key and known_hosts: no user or system ssh config, no agent,
 * no default identities, strict host key checking, no prompts.
 */
async function sshCommand(home: string, auth: GitAuth, timeoutSec: number): Promise<string> {
  const key = join(home, 'id');
  const knownHosts = join(home, 'known_hosts');
  if (auth.sshKey) await writeFile(key, normalizeLines(auth.sshKey), { mode: 0o600 });
  // absent known_hosts = no host is trusted (strict checking fails closed)
  if (auth.knownHosts) await writeFile(knownHosts, normalizeLines(auth.knownHosts), { mode: 0o600 });
  const opts = [
    'BatchMode=yes',
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile=${quote(sshPath(knownHosts))}`,
    'GlobalKnownHostsFile=/dev/null',
    'UpdateHostKeys=no',
    'IdentitiesOnly=yes',
    'IdentityAgent=none',
    `IdentityFile=${quote(sshPath(key))}`,
    'PasswordAuthentication=no',
    'KbdInteractiveAuthentication=no',
    'ControlMaster=no',
    'ControlPath=none',
    'PermitLocalCommand=no',
    `ConnectTimeout=${timeoutSec}`,
    'ServerAliveInterval=10',
    `ServerAliveCountMax=${Math.max(1, Math.ceil(timeoutSec / 10))}`,
    'LogLevel=ERROR',
  ];
  return ['ssh', '-F', '/dev/null', ...opts.flatMap((o) => ['-o', o])].join(' ');
}

/**
 * A key or known_hosts text as ssh wants it: LF line ends and a final newline. Text pasted as
 * one line with literal `\n` escapes (common in JSON bodies and env files) gets its line breaks
 * back.
 */
export function normalizeLines(key: string): string {
  const unescaped = key.includes('\n') ? key : key.replace(/\\n/g, '\n');
  const lf = unescaped.replace(/\r\n/g, '\n').trim();
  return `${lf}\n`;
}

/**
 * A path as an ssh option's value: ssh splits values at spaces (a data dir `/srv/chart sync`
 * would make IdentityFile an error and UserKnownHostsFile two other files) and expands `%`
 * tokens in both, so the path goes in double quotes, its `"` and `\` escaped and `%` doubled.
 */
function sshPath(path: string): string {
  return `"${path.replace(/["\\]/g, '\\$&').replace(/%/g, '%%')}"`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The environment for purely local commands (no transport allowed, no credentials, no files). */
export function localSession(): GitSession {
  return {
    env: {
      ...passThrough(),
      HOME: '/nonexistent',
      XDG_CONFIG_HOME: '/nonexistent',
      LC_ALL: 'C',
      LANG: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      ...configEnv([['protocol.allow', 'never']]),
    },
    secrets: [],
  };
}
