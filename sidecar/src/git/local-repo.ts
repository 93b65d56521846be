/**
 * The on-disk half of the local repository rule (url-policy.ts has the part that needs no
 * disk): a local repository path whose symbolic links lead into one of the policy's private
 * directories (the sidecar's data dir: other registrations' clones) is refused. Checked at
 * registration and again before every git command, since a link can change in between.
 * A repository that itself points elsewhere (a `.git` file, alternates) is the disk owner's
 * doing: `--allow-local-git` is for a machine's owner.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { insideAny, localRepoPaths, refused, type UrlPolicy } from './url-policy.js';

/** Throws GitError 'policy' when `url` is a local path that resolves into a private directory. */
export function checkLocalRepoOnDisk(url: string, policy: UrlPolicy): void {
  const privateDirs = policy.privateDirs ?? [];
  if (privateDirs.length === 0) return;
  const paths = localRepoPaths(url);
  if (!paths) return;
  // both sides resolved: a private dir reached through a link of its own still counts
  const dirs = privateDirs.flatMap((d) => [resolve(d), realOrSelf(resolve(d))]);
  for (const path of paths) {
    if (insideAny(realOrSelf(resolve(path)), dirs))
      throw refused(
        url,
        "a local repository may not be inside the sidecar's data or storage directory (it resolves there through a symbolic link)",
      );
  }
}

/**
 * `path` with every link resolved; for a path that does not exist (yet), its nearest existing
 * ancestor resolved and the rest appended.
 */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realOrSelf(parent), basename(path));
  }
}
