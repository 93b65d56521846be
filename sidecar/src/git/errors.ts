/**
 * GitError and the classification of git's failures. Messages name the operation, the URL (its
 * secrets removed) and the ref, plus git's own last words, scrubbed: they are safe to log and to
 * return in API answers.
 */

/**
 * `storage`: the local disk (the checkout's, in the data dir) is full, not the remote's fault.
 * `size`: the checkout is over the sidecar's cap (checkout-size.ts; never from git's output).
 */
export type GitErrorKind = 'policy' | 'auth' | 'storage' | 'unreachable' | 'ref' | 'size' | 'failed';

export class GitError extends Error {
  readonly kind: GitErrorKind;
  constructor(kind: GitErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
    this.kind = kind;
  }
}

// Ordered: the first matching rule wins. git runs with LC_ALL=C, so these texts are stable.
const RULES: [GitErrorKind, RegExp][] = [
  [
    'policy',
    /transport '[^']*' not allowed|unsupported URL protocol|Protocol "?[a-z0-9+.-]+"? not supported or disabled/i,
  ],
  [
    'auth',
    /Authentication failed|could not read (Username|Password)|returned error: 40[13]\b|Permission denied \(|Host key verification failed|No (RSA|ECDSA|ED25519)? ?host key is known|Too many authentication failures|Invalid username or password/i,
  ],
  // Before `unreachable`: a fetch cut short by a full disk also says "early EOF".
  ['storage', /No space left on device|Disk quota exceeded/i],
  [
    'unreachable',
    /Could not resolve host|Could not resolve hostname|Connection refused|Failed to connect|Connection timed out|timed out|Network is unreachable|No route to host|Connection reset|Connection closed by|unable to connect|Operation too slow|early EOF|the remote end hung up unexpectedly|returned error: 5\d\d/i,
  ],
  [
    'ref',
    /couldn't find remote ref|does not allow request for unadvertised object|Remote branch .* not found|not our ref|no such ref|unknown revision|bad revision|invalid refspec/i,
  ],
];

const HINTS: [RegExp, string][] = [
  [
    /SSL certificate problem|server certificate verification failed|certificate verify failed/i,
    "the server's TLS certificate is not trusted: give its CA bundle through SSL_CERT_FILE or GIT_SSL_CAINFO",
  ],
  [
    // (GitHub over ssh: "ERROR: Repository not found."; GitLab: "could not be found or you don't
    // have permission to view it")
    /repository '[^']*' not found|Repository not found\.|could not be found or you don't have permission|does not appear to be a git repository|not exported|no such repository/i,
    'no repository at this URL, or no access to it',
  ],
  [
    /No space left on device|Disk quota exceeded/i,
    "the disk holding the checkout is full (No space left on device): free space in the sidecar's data dir",
  ],
  [
    /returned error: 30[1278]\b/,
    'the server answered with a redirect, and redirects are not followed: use the URL it redirects to',
  ],
];

/** Advice for failures whose cause git's own words hide, or undefined. */
export function gitHint(stderr: string): string | undefined {
  return HINTS.find(([re]) => re.test(stderr))?.[1];
}

/** The kind of failure git's stderr describes ('failed' when nothing more specific matches). */
export function classifyGitOutput(stderr: string): GitErrorKind {
  for (const [kind, re] of RULES) if (re.test(stderr)) return kind;
  return 'failed';
}

// progress, advice and ref-update summaries: never the cause of a failure
const NOISE =
  /^(hint:|Cloning into|From |\* |\+ |[0-9a-f]+\.\.|(remote: )?(Counting|Compressing|Enumerating|Total|Receiving|Resolving|Unpacking|Writing|Updating files)\b|Please make sure|and the repository exists)/;

/** git's last words when the ssh transport failed: they say nothing of why. */
const GENERIC_SSH_END = /^fatal: Could not read from remote repository\.?$/;
/** A `remote:` line with nothing to say (blank, or a banner's rule of `=`). */
const REMOTE_DECORATION = /^remote:\s*[=*-]*\s*$/;

/**
 * When git ends with its generic ssh failure, the line before it: what the server (GitHub's
 * "ERROR: Repository not found.", GitLab's banner, upload-pack's "does not appear to be a git
 * repository") or ssh itself ("Unable to negotiate ...") said.
 */
function saidBefore(lines: string[], last: string | undefined): string[] {
  if (last === undefined || !GENERIC_SSH_END.test(last)) return [];
  const said = lines.slice(0, lines.lastIndexOf(last)).filter((l) => !REMOTE_DECORATION.test(l));
  return said.slice(-1);
}

/**
 * What to quote from git's stderr in a message: the lines that show the cause (e.g. ssh's
 * "Permission denied" before git's generic "Could not read from remote repository"), then the
 * last fatal/error line; progress and advice noise dropped.
 */
export function gitLastWords(stderr: string, maxLines = 3): string {
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l && !NOISE.test(l));
  const causes = lines.filter((l) => RULES.some(([, re]) => re.test(l)));
  const last = lines.filter((l) => /^(fatal|error):/.test(l)).slice(-1);
  const picked = [...new Set([...causes, ...saidBefore(lines, last[0]), ...last])];
  return (picked.length ? picked : lines).slice(-maxLines).join(' / ');
}
