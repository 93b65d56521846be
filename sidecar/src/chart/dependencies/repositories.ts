/**
 * Which repository a dependency's `repository:` field designates, as helm's downloader decides
 * it: empty means the vendored `charts/` directory, `file://` a directory of the same checkout,
 * `@name` / `alias:name` a registered repository by name, and an http(s) URL a registered
 * repository with an equal URL (or an unregistered one, fetched anonymously as helm does).
 * `oci://` names a chart repository prefix in an OCI registry (the chart is `<prefix>/<name>`).
 * Beyond helm, a registered repository with `mirrorOf` answers for the public URL it mirrors;
 * an `oci://` mirrorOf is a prefix (it covers every repository below it), and a mirror may be
 * of either kind whatever the kind of what it mirrors.
 */
import { posix } from 'node:path';
import { isOciUrl, parseOciUrl } from '../../oci/reference.js';
import { redactUrl } from '../../url/credentials.js';
import type { DependencyRepository } from '../model.js';
import { ownFirst } from './scope.js';

export type RepositoryRef =
  | { kind: 'vendored' }
  | { kind: 'file'; path: string }
  | {
      kind: 'http';
      /**
       * The URL the chart names (after `@name` resolution, shown: see resolveRepositoryRef):
       * what Chart.lock records.
       */
      url: string;
      /** Where the index and archives are actually fetched from (a mirror, or `url`), secrets and all. */
      fetchUrl: string;
      registered?: DependencyRepository;
    }
  | {
      kind: 'oci';
      /** The URL the chart names (after `@name` resolution): what Chart.lock records. */
      url: string;
      /** The `oci://` prefix the chart is pulled from (a mirror, or `url`). */
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
  const found = ownFirst(repositories, (tier) => tier.find((r) => r.name === name));
  if (!found) {
    const known = repositories.map((r) => r.name).join(', ') || 'none';
    throw new RepositoryRefError(
      `no dependency repository named '${name}' is registered (registered: ${known}); add it with POST /repo/dependency or --repo ${name}=URL`,
    );
  }
  return found;
}

/**
 * The part of `url` below the `oci://` prefix `prefix` ('' when equal), on path-segment
 * boundaries; undefined when the prefix does not cover it.
 */
function ociRemainder(prefix: string, url: string): string | undefined {
  try {
    const [p, u] = [parseOciUrl(prefix), parseOciUrl(url)];
    if (p.registry !== u.registry) return undefined;
    if (p.path === '' || p.path === u.path) return p.path === u.path ? '' : `/${u.path}`;
    return u.path.startsWith(`${p.path}/`) ? u.path.slice(p.path.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Where a mirror answers for `url`: the mirror's URL plus what lies below the mirrored prefix. */
function mirrorUrl(mirror: DependencyRepository, url: string): string | undefined {
  const of = mirror.mirrorOf;
  if (!of) return undefined;
  if (!isOciUrl(of)) return urlEqual(of, url) ? mirror.url : undefined;
  const rest = ociRemainder(of, url);
  return rest === undefined ? undefined : `${mirror.url.replace(/\/+$/, '')}${rest}`;
}

/** `url` matched against the registrations; `recorded` is what Chart.lock is to name. */
function remoteRef(url: string, repositories: DependencyRepository[], recorded = url): RepositoryRef {
  // The syncing repo's own registrations answer first, a mirror or not; shared ones only when
  // none of its own does (scope.ts).
  const match = ownFirst(repositories, (tier) => matchUrl(url, tier));
  const target = match?.at ?? url;
  const kind = isOciUrl(target) ? 'oci' : 'http';
  return { kind, url: recorded, fetchUrl: target, ...(match ? { registered: match.r } : {}) };
}

/** Within one scope: a mirror of `url` first, else a registration of `url` itself. */
function matchUrl(
  url: string,
  repositories: DependencyRepository[],
): { r: DependencyRepository; at: string } | undefined {
  const mirrored = repositories
    .map((r) => ({ r, at: mirrorUrl(r, url) }))
    .find((m): m is { r: DependencyRepository; at: string } => m.at !== undefined);
  if (mirrored) return mirrored;
  const registered = repositories.find((r) =>
    isOciUrl(url) ? ociRemainder(r.url, url) === '' : urlEqual(r.url, url),
  );
  return registered ? { r: registered, at: registered.url } : undefined;
}

/**
 * Classifies a dependency's `repository` field against the registered repositories. `@name`
 * becomes the registered URL as redactUrl shows it (no user info, query or fragment): that is
 * what Chart.lock records and its digest covers, and a published archive must not carry the
 * token of a registration (docs/dependencies.md). Fetching still uses the whole URL.
 */
export function resolveRepositoryRef(
  repository: string | undefined,
  repositories: DependencyRepository[],
): RepositoryRef {
  const repo = repository ?? '';
  if (repo === '') return { kind: 'vendored' };
  if (repo.startsWith('file://')) return { kind: 'file', path: repo.slice('file://'.length) };
  const alias = /^(?:@|alias:)(.*)$/.exec(repo)?.[1];
  if (alias !== undefined) {
    const registered = byName(alias, repositories).url;
    return remoteRef(registered, repositories, redactUrl(registered));
  }
  if (/^https?:\/\//i.test(repo)) return remoteRef(repo, repositories);
  if (isOciUrl(repo)) {
    parseOciUrl(repo);
    return remoteRef(repo, repositories);
  }
  throw new RepositoryRefError(
    `repository '${repo}' is neither an http(s) URL, an oci:// URL, a file:// path nor '@name' of a registered repository`,
  );
}
