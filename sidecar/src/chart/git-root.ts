/** Finds the enclosing git work tree without spawning git (a `.git` file or directory above). */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export async function findGitRoot(dir: string): Promise<string | undefined> {
  let current = resolve(dir);
  for (;;) {
    if (await stat(join(current, '.git')).catch(() => undefined)) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
