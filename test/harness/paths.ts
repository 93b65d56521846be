/** Where the repository, the built CLIs and the real test tools (.tools/bin) live. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const toolsBin = join(repoRoot, '.tools/bin');
export const chartsyncBin = join(repoRoot, 'node_modules/.bin/chartsync');
export const operatorBin = join(repoRoot, 'node_modules/.bin/chartsync-operator');

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(
  prefix = 'chartsync-test-',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
