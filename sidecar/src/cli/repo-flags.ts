/**
 * Dependency repositories named on the command line (`package`, `sync`): `--repo NAME=URL`
 * (an http(s) chart repository or an `oci://` registry prefix), `--mirror-of NAME=PREFIX` (the
 * repository NAME answers for the public URL or `oci://` prefix PREFIX), and credentials from
 * the environment — `REPO_<NAME>_USERNAME` / `REPO_<NAME>_PASSWORD` (NAME upper-cased, every
 * other character than A-Z and 0-9 as `_`) — never from a flag, so they stay out of `ps` and
 * shell history. An `oci://` repository may add `--ca-file NAME=PATH` (a CA trusted for its
 * registry only) and `--plain-http NAME` (helm's flags, per repository). Every entry goes
 * through the same registration path as `POST /repo/dependency`.
 */
import type { DependencyRepository } from '../chart/model.js';

export const REPO_FLAGS_HELP = `      --repo NAME=URL       a dependency repository: http(s) chart repository or oci://host/path
                            (repeatable); credentials from REPO_<NAME>_USERNAME/_PASSWORD
      --mirror-of NAME=URL  repository NAME mirrors URL (an http(s) URL or an oci:// prefix):
                            dependencies naming URL resolve from NAME (repeatable)
      --ca-file NAME=FILE   PEM CA certificates trusted for oci:// repository NAME's registry only
      --plain-http NAME     reach oci:// repository NAME's registry over plain HTTP (repeatable)`;

/** The flags above, for parseArgs. */
export const REPO_FLAG_OPTIONS = {
  repo: { type: 'string', multiple: true },
  'mirror-of': { type: 'string', multiple: true },
  'ca-file': { type: 'string', multiple: true },
  'plain-http': { type: 'string', multiple: true },
} as const;

const REPO_FLAG_NAMES = Object.keys(REPO_FLAG_OPTIONS) as (keyof typeof REPO_FLAG_OPTIONS)[];

export interface RepoFlagValues {
  repo?: string[] | undefined;
  'mirror-of'?: string[] | undefined;
  'ca-file'?: string[] | undefined;
  'plain-http'?: string[] | undefined;
}

function split(flag: string, text: string): [string, string] {
  const eq = text.indexOf('=');
  // not quoted: the value may be a URL holding credentials
  if (eq <= 0) throw new Error(`${flag} must be NAME=URL (a name, "=", then the URL)`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * NAME=VALUE flags as a map. A name given twice is refused: one of the two would be dropped
 * silently (a `--repo` by the resolver, which takes the first, a `--mirror-of` by the map), and
 * charts would resolve from a repository other than the one the user believes.
 */
function byName(flag: string, specs: string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs ?? []) {
    const [name, value] = split(flag, spec);
    if (out.has(name)) throw new Error(`${flag} ${name}: given more than once`);
    out.set(name, value);
  }
  return out;
}

export function envKey(name: string): string {
  return `REPO_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The repositories the flags describe; throws with a message naming the bad flag. */
export async function repositoriesFromFlags(
  flags: RepoFlagValues,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DependencyRepository[]> {
  // The registration path (schemas, URL policy) is loaded only when there is something to
  // register: `chartsync package` of local charts starts ~0.2 s sooner without it.
  // Only the repository flags count: callers hand over all their parsed values.
  if (REPO_FLAG_NAMES.every((k) => !flags[k] || flags[k].length === 0)) return [];
  const { dependencyRegistration } = await import('../registry/registration.js');
  const { readCaFile } = await import('../oci/settings.js');
  const mirrorOf = byName('--mirror-of', flags['mirror-of']);
  const caFiles = byName('--ca-file', flags['ca-file']);
  const plain = new Set(flags['plain-http'] ?? []);
  const out = [...byName('--repo', flags.repo)].map(([name, url]) => {
    const key = envKey(name);
    const caFile = caFiles.get(name);
    for (const [flag, given] of [
      ['--ca-file', caFile !== undefined],
      ['--plain-http', plain.has(name)],
    ] as const) {
      if (given && !/^oci:\/\//i.test(url))
        throw new Error(`${flag} ${name}: applies to oci:// repositories only`);
    }
    // the one registration path, as for `POST /repo/dependency` (its messages never quote credentials)
    try {
      return dependencyRegistration({
        name,
        url,
        ...(mirrorOf.has(name) ? { mirrorOf: mirrorOf.get(name) } : {}),
        ...(caFile !== undefined ? { caData: readCaFile(caFile, '--ca-file') } : {}),
        ...(plain.has(name) ? { insecurePlainHttp: true } : {}),
        ...(env[`${key}_USERNAME`] !== undefined ? { username: env[`${key}_USERNAME`] } : {}),
        ...(env[`${key}_PASSWORD`] !== undefined ? { password: env[`${key}_PASSWORD`] } : {}),
      });
    } catch (err) {
      throw new Error(`--repo ${name}: ${(err as Error).message}`);
    }
  });
  const named: [string, Iterable<string>][] = [
    ['--mirror-of', mirrorOf.keys()],
    ['--ca-file', caFiles.keys()],
    ['--plain-http', plain],
  ];
  for (const [flag, names] of named) {
    for (const name of names) {
      if (!out.some((r) => r.name === name))
        throw new Error(`${flag} ${name}: no --repo ${name}=URL is given`);
    }
  }
  return out;
}
