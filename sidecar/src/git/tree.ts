/** Git tree ids of directories: equal ids mean equal content, so a chart can be skipped. */
import { runGit } from './runner.js';
import { localSession } from './session.js';

/**
 * The `git ls-tree` arguments that list every directory of `rev` below its root, with its
 * tree id (the root's own id comes from elsewhere: `rev^{tree}`).
 */
export function listDirsArgs(rev: string): string[] {
  return ['ls-tree', '-r', '-d', '-z', '--full-tree', rev];
}

/** Tree id of every directory (relative path, '' for the root) from `listDirsArgs` output. */
export function parseDirListing(root: string, out: string): Map<string, string> {
  const trees = new Map<string, string>([['', root]]);
  for (const entry of out.split('\0')) {
    const m = /^\d+ (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (m?.[1] === 'tree') trees.set(m[3] ?? '', m[2] ?? '');
  }
  return trees;
}

/**
 * The tree ids of `paths` (directories relative to the work tree root, '' or '.' for the root)
 * out of every directory's id, keyed as given. Paths that are not directories are left out.
 */
export function pickTrees(all: ReadonlyMap<string, string>, paths: string[]): Map<string, string> {
  const result = new Map<string, string>();
  for (const p of paths) {
    const id = all.get(normalize(p));
    if (id !== undefined) result.set(p, id);
  }
  return result;
}

/**
 * The tree id of each of `paths` at HEAD of the checkout in `dir` (see pickTrees). A local
 * command, no network, no credentials.
 */
export async function treeIds(dir: string, paths: string[]): Promise<Map<string, string>> {
  const root = (await git(dir, ['rev-parse', '--verify', '-q', 'HEAD^{tree}'])).trim();
  return pickTrees(parseDirListing(root, await git(dir, listDirsArgs('HEAD'))), paths);
}

function normalize(p: string): string {
  return p
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '')
    .replace(/^\.$/, '');
}

function git(dir: string, args: string[]): Promise<string> {
  return runGit(localSession(), args, { cwd: dir, describe: `git ${args[0]} in ${dir}` });
}
