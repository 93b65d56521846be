/**
 * OCI references as helm writes them: `oci://<registry>[:port]/<path>` names a repository
 * prefix; a chart lives at `<prefix>/<chart name>` and each version is a tag, with SemVer's `+`
 * (not allowed in a tag) stored as `_` (helm's mapping, helm/helm#10166).
 */

export interface OciRepository {
  /** `host[:port]`, lowercase: where requests go and which credentials apply. */
  registry: string;
  /** The repository path inside the registry, e.g. `bitnamicharts/common`. */
  path: string;
}

export class OciReferenceError extends Error {
  override name = 'OciReferenceError';
}

// The distribution reference grammar: lowercase path components separated by `/`.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/;

export function isOciUrl(url: string | undefined): boolean {
  return typeof url === 'string' && /^oci:\/\//i.test(url);
}

/**
 * User info, a query or a fragment may hold a password or a token: such a URL is refused by
 * naming what it holds, never by quoting it (the message reaches logs and API answers).
 */
function refuseSecretParts(rest: string): void {
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  if (authority.includes('@')) {
    throw new OciReferenceError(
      'oci:// URL: user info (credentials before @) is not allowed in the URL; give them as username and password',
    );
  }
  if (/[?#]/.test(rest)) {
    throw new OciReferenceError(
      `oci:// URL of ${authority.replace(/[^a-z0-9.:-]/gi, '?').slice(0, 80)}: a query or fragment (? or #) is not allowed in the URL`,
    );
  }
}

/** Parses `oci://host[:port][/path]` (no credentials, query or fragment); the path may be empty. */
export function parseOciUrl(url: string): OciRepository {
  if (!isOciUrl(url)) throw new OciReferenceError('not an oci:// URL');
  const rest = url.slice('oci://'.length).replace(/\/+$/, '');
  refuseSecretParts(rest);
  const slash = rest.indexOf('/');
  const registry = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  // A port beyond 65535 passes the grammar, then fails every request with a bare "Invalid URL".
  if (!HOST.test(registry) || Number(/:(\d+)$/.exec(registry)?.[1] ?? 1) > 65535) {
    throw new OciReferenceError(
      `oci:// URL: '${registry.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)}' is not a registry host[:port] (credentials, queries and fragments are not allowed in the URL)`,
    );
  }
  if (path !== '' && !path.split('/').every((c) => COMPONENT.test(c))) {
    throw new OciReferenceError(
      `oci:// URL of ${registry}: repository path '${path.slice(0, 200)}' is not valid (lowercase letters, digits and . _ - separated by /)`,
    );
  }
  return { registry, path };
}

/** The repository of chart `name` under an `oci://` prefix: `<prefix>/<name>`. */
export function chartRepository(prefix: string, name: string): OciRepository {
  const base = parseOciUrl(prefix);
  const path = base.path ? `${base.path}/${name}` : name;
  if (!path.split('/').every((c) => COMPONENT.test(c))) {
    throw new OciReferenceError(`chart name '${name}' cannot be an OCI repository name under ${prefix}`);
  }
  return { registry: base.registry, path };
}

export function formatRepository(repo: OciRepository): string {
  return `oci://${repo.registry}/${repo.path}`;
}

/** SemVer `+` is not allowed in a tag: helm stores it as `_`. */
export function versionToTag(version: string): string {
  return version.replaceAll('+', '_');
}

export function tagToVersion(tag: string): string {
  return tag.replaceAll('_', '+');
}

// semver.org's strict SemVer 2 grammar: what Masterminds' StrictNewVersion accepts (no `v`).
const STRICT_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** The chart versions among a repository's tags, as helm's registry client keeps them. */
export function tagVersions(tags: string[]): string[] {
  return tags.map(tagToVersion).filter((v) => STRICT_SEMVER.test(v));
}
