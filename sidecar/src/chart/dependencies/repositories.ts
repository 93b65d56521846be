/**
 * Which repository a dependency's `repository:` field designates, as helm's downloader decides
 * it: empty means the vendored `charts/` directory, `file://` a directory of the same checkout,
 * `@name` / `alias:name` a registered repository by name, and an http(s) URL a registered
 * repository with an equal URL (or an unregistered one, fetched anonymously as helm does).
 * Beyond helm, a registered repository with `mirrorOf` answers for the public URL it mirrors.
 */
import { posix } from 'node:path';
import type { DependencyRepository } from '../model.js';

export type RepositoryRef =
  | { kind: 'vendored' }
  | { kind: 'file'; path: string }
  | {
      kind: 'http';
      /** The URL the chart names (after `@name` resolution): what Chart.lock records. */
      url: string;
      /** Where the index and archives are actually fetched from (a mirror, or `url`). */
      fetchUrl: string;
      registered?: DependencyRepository;
    };

export class RepositoryRefError extends Error {
  override name = 'RepositoryRefError';
}

/** helm's urlutil.Equal: same URL once paths are cleaned (`/a/b/` equals `/a/b`). */
export function urlEqual(a: string, b: string): boolean {
  const normalize = (s: string) => {
    try {
      const u = new URL(s);
      u.pathname = posix.normalize(u.pathname || '/').replace(/(.)\/$/, '$1');
      return u.href;
    } catch {
      return undefined;
    }
  };
  const [na, nb] = [normalize(a), normalize(b)];
  return na !== undefined && na === nb;
}

function byName(name: string, repositories: DependencyRepository[]): DependencyRepository {
  const found = repositories.find((r) => r.name === name);
  if (!found) {
    const known = repositories.map((r) => r.name).join(', ') || 'none';
    throw new RepositoryRefError(
      `no dependency repository named '${name}' is registered (registered: ${known}); add it with POST /repo/dependency or --repo ${name}=URL`,
    );
  }
  return found;
}

function httpRef(url: string, repositories: DependencyRepository[]): RepositoryRef {
  const mirror = repositories.find((r) => r.mirrorOf && urlEqual(r.mirrorOf, url));
  const registered = mirror ?? repositories.find((r) => urlEqual(r.url, url));
  return { kind: 'http', url, fetchUrl: registered?.url ?? url, ...(registered ? { registered } : {}) };
}

/** Classifies a dependency's `repository` field against the registered repositories. */
export function resolveRepositoryRef(
  repository: string | undefined,
  repositories: DependencyRepository[],
): RepositoryRef {
  const repo = repository ?? '';
  if (repo === '') return { kind: 'vendored' };
  if (repo.startsWith('file://')) return { kind: 'file', path: repo.slice('file://'.length) };
  const alias = /^(?:@|alias:)(.*)$/.exec(repo)?.[1];
  if (alias !== undefined) return httpRef(byName(alias, repositories).url, repositories);
  if (/^https?:\/\//i.test(repo)) return httpRef(repo, repositories);
  if (repo.startsWith('oci://')) {
    throw new RepositoryRefError(
      `OCI registries (${repo}) are not supported; use an http(s) chart repository`,
    );
  }
  throw new RepositoryRefError(
    `repository '${repo}' is neither an http(s) URL, a file:// path nor '@name' of a registered repository`,
  );
}
