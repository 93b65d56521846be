/**
 * Dependencies from `oci://` repositories, as helm's resolver and downloader treat them: an
 * exact version (anything Masterminds' NewVersion parses) is taken as the tag without listing;
 * otherwise the repository's SemVer tags (`_` read as `+`) are listed and the highest one that
 * satisfies the constraint wins. The chart layer is pulled and verified by digest, and cached
 * by that digest like archives from http repositories. One client (token cache), one tag
 * listing per repository and one manifest per tag, per run and build thread (run-cache.ts).
 */

import { type Constraint, satisfies } from '../chart/dependencies/constraint.js';
import { DEFAULT_TIMEOUT_MS, readCached, writeCached } from '../chart/dependencies/fetcher.js';
import { runCached } from '../chart/dependencies/run-cache.js';
import { ownFirst } from '../chart/dependencies/scope.js';
import type { DependencyRepository, PackageOptions } from '../chart/model.js';
import { compareVersions, toVersion } from '../chart/version.js';
import type { OciCredentials } from './auth.js';
import { pullChart } from './chart.js';
import { OciClient } from './client.js';
import {
  chartRepository,
  formatRepository,
  isOciUrl,
  parseOciUrl,
  tagVersions,
  versionToTag,
} from './reference.js';
import { ociSettingsFromEnv, type RegistryAccess } from './settings.js';

interface RunState {
  client: OciClient;
  tags: Map<string, Promise<string[]>>;
  /** `oci://…:tag` -> the chart layer's digest its manifest named earlier in this run. */
  layers: Map<string, string>;
}

/** The registered `oci://` repositories whose URL is on a registry host. */
function onRegistry(repositories: readonly DependencyRepository[], registry: string): DependencyRepository[] {
  return repositories.filter((r) => {
    if (!isOciUrl(r.url)) return false;
    try {
      return parseOciUrl(r.url).registry === registry;
    } catch {
      return false;
    }
  });
}

/** Credentials for a registry host: from a registered `oci://` repository on that host. */
export function credentialsFromRepositories(
  repositories: readonly DependencyRepository[],
): (registry: string) => OciCredentials | undefined {
  return (registry) => {
    // the syncing repo's own registrations on this host first, then shared ones (scope.ts)
    const found = ownFirst(repositories, (tier) =>
      onRegistry(tier, registry).find((r) => r.username !== undefined || r.password !== undefined),
    );
    return found ? { username: found.username ?? '', password: found.password ?? '' } : undefined;
  };
}

/**
 * How a registry host is reached, from the `oci://` repositories registered on it: the CAs they
 * declare (all of them, each was given for this host) and plain HTTP when one of them allows it
 * (the scheme is the host's, not a path's). Nothing declared for another host applies here.
 */
export function accessFromRepositories(
  repositories: readonly DependencyRepository[],
): (registry: string) => RegistryAccess | undefined {
  return (registry) => {
    // what the syncing repo's own registrations on this host declare, else the shared ones'
    const declared =
      ownFirst(repositories, (tier) => {
        const on = onRegistry(tier, registry);
        return on.length ? on : undefined;
      }) ?? [];
    const cas = [...new Set(declared.map((r) => r.caData).filter((c): c is string => Boolean(c)))];
    const plainHttp = declared.some((r) => r.insecurePlainHttp === true);
    return cas.length || plainHttp ? { caCerts: cas.join(''), plainHttp } : undefined;
  };
}

/** One client (token cache) and one tag listing per repository, per run (run-cache.ts). */
function runState(opts: PackageOptions): RunState {
  return runCached(opts, 'oci', () => {
    const settings = opts.oci ?? ociSettingsFromEnv();
    return {
      client: new OciClient({
        timeoutMs: opts.dependencyTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...settings,
        credentials: credentialsFromRepositories(opts.repositories ?? []),
        access: accessFromRepositories(opts.repositories ?? []),
      }),
      tags: new Map(),
      layers: new Map(),
    };
  });
}

export interface OciDependency {
  name: string;
  /** The version field of the dependency as written. */
  version: string | undefined;
  constraint: Constraint;
  /** The version a matching lock pins. */
  pinned?: string | undefined;
}

/** The version helm would lock, and the chart archive pulled from `<fetchUrl>/<name>`. */
export async function fetchOciDependency(
  fetchUrl: string,
  dep: OciDependency,
  opts: PackageOptions,
): Promise<{ version: string; data: Buffer; url: string; cached: boolean }> {
  const state = runState(opts);
  const repo = chartRepository(fetchUrl, dep.name);
  const where = formatRepository(repo);
  let version = dep.pinned;
  if (version === undefined && dep.version && toVersion(dep.version)) version = dep.version;
  if (version === undefined) {
    let pending = state.tags.get(where);
    if (!pending) {
      pending = state.client.tags(repo);
      pending.catch(() => state.tags.delete(where));
      state.tags.set(where, pending);
    }
    const versions = tagVersions(await pending)
      .map((v) => toVersion(v))
      .filter((v) => v !== undefined)
      .sort((a, b) => compareVersions(b, a));
    const chosen = versions.find((v) => satisfies(v, dep.constraint));
    if (!chosen) {
      const shown =
        versions
          .slice(0, 10)
          .map((v) => v.original)
          .join(', ') || 'none';
      throw new Error(`no tag of ${where} satisfies the constraint; available: ${shown}`);
    }
    version = chosen.original;
  }
  const tag = versionToTag(version);
  const url = `${where}:${tag}`;
  const cacheDir = opts.cacheDir;
  const hex = (digest: string) => digest.slice('sha256:'.length);
  const fromCache = cacheDir ? (digest: string) => readCached(cacheDir, hex(digest)) : undefined;
  // Within a run a tag means what its manifest said the first time: the layer comes from the
  // digest-verified cache without asking the registry again (one run, one answer per tag).
  const known = state.layers.get(url);
  const again = known ? await fromCache?.(known) : undefined;
  if (again) return { version, data: again, url, cached: true };
  const pulled = await pullChart(state.client, repo, tag, where, fromCache);
  if (cacheDir && !pulled.cached) await writeCached(cacheDir, hex(pulled.chartDigest), pulled.data);
  state.layers.set(url, pulled.chartDigest);
  return { version, data: pulled.data, url, cached: pulled.cached };
}
