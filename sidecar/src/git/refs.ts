/**
 * Reads which commit a checkout has checked out straight from its files (HEAD, the loose ref or
 * packed-refs), so an update can tell "already here" without starting a git process.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The commit HEAD points at, or undefined when it cannot be read this way (then ask git). */
export async function headCommit(gitDir: string): Promise<string | undefined> {
  const head = (await readText(join(gitDir, 'HEAD')))?.trim();
  if (!head) return undefined;
  if (!head.startsWith('ref: ')) return asSha(head);
  const ref = head.slice(5).trim();
  // Only names git itself writes under refs/: never a path that leaves the git dir.
  if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..')) return undefined;
  const loose = await readText(join(gitDir, ref));
  if (loose !== undefined) return asSha(loose.trim());
  const packed = await readText(join(gitDir, 'packed-refs'));
  for (const line of packed?.split('\n') ?? []) {
    const [sha, name] = line.split(' ');
    if (name === ref) return asSha(sha ?? '');
  }
  return undefined;
}

function asSha(text: string): string | undefined {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text) ? text : undefined;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
