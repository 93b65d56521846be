/** Finds the enclosing git work tree without spawning git (a `.git` file or directory above). */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export async function findGitRoot(dir: string): Promise<string | undefined> {
  return gitRootFinder()(dir);
}

/**
 * A findGitRoot that remembers each directory's answer for its caller's run: charts side by side
 * share their parents, so a hundred of them cost one walk up, not a hundred.
 */
export function gitRootFinder(): (dir: string) => Promise<string | undefined> {
  const known = new Map<string, Promise<string | undefined>>();
  const find = (dir: string): Promise<string | undefined> => {
    let answer = known.get(dir);
    if (!answer) {
      answer = stat(join(dir, '.git')).then(
        () => dir,
        () => (dirname(dir) === dir ? undefined : find(dirname(dir))),
      );
      known.set(dir, answer);
    }
    return answer;
  };
  return (dir) => find(resolve(dir));
}
