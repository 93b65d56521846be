/**
 * Scopes of dependency repositories. A registration with `repo` serves that one git repo's
 * syncs; one without is shared by all. A sync of repo R sees R's own registrations and the
 * shared ones, never another repo's (a tenant's `mirrorOf` or credentials must not reach
 * another tenant's sync), and where both answer, R's own win: by name, by URL (credentials,
 * CA, plain HTTP) and as a mirror. See docs/dependencies.md "Scoped dependency repositories".
 */
import type { DependencyRepository } from '../model.js';

/**
 * The identity of a registration: (scope, name). Names are DNS-1123 labels, so `repo/name`
 * never collides with a shared name (and a shared one keeps the key older versions wrote).
 */
export function dependencyKey(dep: Pick<DependencyRepository, 'name' | 'repo'>): string {
  return dep.repo === undefined ? dep.name : `${dep.repo}/${dep.name}`;
}

/** What a sync of `repo` may use: its own registrations first, then the shared ones. */
export function visibleTo(all: readonly DependencyRepository[], repo: string): DependencyRepository[] {
  return [...all.filter((d) => d.repo === repo), ...all.filter((d) => d.repo === undefined)];
}

/**
 * The first answer `pick` gives from the sync's own registrations, else from the shared ones.
 * A list handed to the chart engine holds one repo's view (visibleTo), so every scoped entry
 * in it is the syncing repo's own.
 */
export function ownFirst<T>(
  repositories: readonly DependencyRepository[],
  pick: (tier: DependencyRepository[]) => T | undefined,
): T | undefined {
  const own = repositories.filter((r) => r.repo !== undefined);
  const shared = repositories.filter((r) => r.repo === undefined);
  return (own.length ? pick(own) : undefined) ?? pick(shared);
}
