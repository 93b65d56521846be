/**
 * Who owns a chart repository name when several Chartmuseum resources ask for it. A resource
 * claims the name it asks for and, until it has cleaned it up, the name it registered before
 * (status.repoName). The owner is the claimant that already holds the name (registered it),
 * else the oldest; every other claimant gets RepoNameConflict. Pure: no I/O.
 */
import { type Chartmuseum, keyOf, repoNameOf } from './resource.js';

export function claimedNames(cm: Chartmuseum): string[] {
  const names = [repoNameOf(cm)];
  const held = cm.status?.repoName;
  if (held && held !== names[0]) names.push(held);
  return names;
}

function olderFirst(a: Chartmuseum, b: Chartmuseum): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
}

/** The resource that owns `name` among `all`, or undefined when nobody claims it. */
export function ownerOf(name: string, all: Chartmuseum[]): Chartmuseum | undefined {
  const claimants = all.filter((cm) => claimedNames(cm).includes(name));
  const holders = claimants.filter((cm) => cm.status?.repoName === name);
  return [...(holders.length ? holders : claimants)].sort(olderFirst)[0];
}

/** Keys of every resource that claims one of `names` (to re-evaluate them after a change). */
export function claimantKeys(names: string[], all: Chartmuseum[]): string[] {
  return all.filter((cm) => claimedNames(cm).some((n) => names.includes(n))).map(keyOf);
}

/** The resources of `indexed` (a cache's claim index: name -> claimants) claiming one of `names`. */
export function claimantsOf(names: string[], indexed: (name: string) => Chartmuseum[]): Chartmuseum[] {
  const found = new Map<string, Chartmuseum>();
  for (const n of names) for (const cm of indexed(n)) found.set(keyOf(cm), cm);
  return [...found.values()];
}
