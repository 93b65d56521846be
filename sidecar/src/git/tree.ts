/** Git tree ids of directories at HEAD: equal ids mean equal content, so a chart can be skipped. */
import { runGit } from './runner.js';
import { localSession } from './session.js';

/**
 * The tree id of each of `paths` (directories relative to the work tree root, '' or '.' for the
 * root) at HEAD of the checkout in `dir`. Paths that are not directories at HEAD are left out.
 * One `git ls-tree` for all of them; a local command, no network, no credentials.
 */
export async function treeIds(dir: string, paths: string[]): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const wanted = new Map(paths.map((p) => [normalize(p), p]));
  const root = wanted.get('');
  if (root !== undefined) result.set(root, await revParse(dir, 'HEAD^{tree}'));
  const nested = [...wanted.keys()].filter((p) => p !== '');
  if (nested.length === 0) return result;
  const out = await git(dir, ['ls-tree', '-z', '--full-tree', 'HEAD', '--', ...nested.map(literal)]);
  for (const entry of out.split('\0')) {
    const m = /^\d+ (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (m?.[1] !== 'tree') continue;
    const original = wanted.get(m[3] ?? '');
    if (original !== undefined) result.set(original, m[2] ?? '');
  }
  return result;
}

function normalize(p: string): string {
  return p
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '')
    .replace(/^\.$/, '');
}

// pathspec magic off: a directory named `:(exclude)x` or `*` means itself
function literal(p: string): string {
  return `:(literal)${p}`;
}

async function revParse(dir: string, rev: string): Promise<string> {
  return (await git(dir, ['rev-parse', '--verify', '-q', rev])).trim();
}

function git(dir: string, args: string[]): Promise<string> {
  return runGit(localSession(), args, { cwd: dir, describe: `git ${args[0]} in ${dir}` });
}
