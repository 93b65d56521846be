/**
 * Which refs to ask a remote for, and which commit a ref names in the answer (pure). The order
 * follows git's own rev-parse rules (full name, then tags, then branches), the order
 * `git fetch <url> <name>` resolves a short name in.
 */

/** `git ls-remote` patterns that list just what `ref` can mean (v2: only these prefixes). */
export function lsRemoteArgs(ref: string | undefined): { flags: string[]; patterns: string[] } {
  if (ref === undefined || ref === 'HEAD') return { flags: [], patterns: ['HEAD'] };
  if (ref.startsWith('refs/')) return { flags: [], patterns: [ref, `${ref}^{}`] };
  return {
    flags: ['--heads', '--tags'],
    patterns: [`refs/tags/${ref}`, `refs/tags/${ref}^{}`, `refs/heads/${ref}`],
  };
}

export interface ResolvedRef {
  /** The full ref name (`refs/heads/main`, `refs/tags/v1`, `HEAD`). */
  name: string;
  /** The commit it points at (annotated tags peeled). */
  commit: string;
}

/** The ref `ref` means in `git ls-remote` output, or undefined when the remote has no such ref. */
export function resolveRef(lsRemoteOutput: string, ref: string | undefined): ResolvedRef | undefined {
  const refs = new Map<string, string>();
  for (const line of lsRemoteOutput.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (sha && name) refs.set(name, sha);
  }
  for (const name of candidates(ref)) {
    const sha = refs.get(`${name}^{}`) ?? refs.get(name);
    if (sha) return { name, commit: sha };
  }
  return undefined;
}

function candidates(ref: string | undefined): string[] {
  if (ref === undefined || ref === 'HEAD') return ['HEAD'];
  if (ref.startsWith('refs/')) return [ref];
  return [`refs/tags/${ref}`, `refs/heads/${ref}`];
}
