/**
 * The one path from untrusted input to a registration. The API body, the standalone config
 * file, the `chartsync sync` flags and (through the API) the operator's requests all become a
 * `RepoRecord` / `DependencyRepository` here, or are refused with an `invalid_input` error that
 * names the field and never quotes a credential:
 *
 *   schema (zod) → credentials split out of the URL → URL and ref policy → credential kinds →
 *   schedule
 *
 * Pure but for one realpath: a local repository path (`--allow-local-git`) is resolved to check
 * that its links do not lead into the sidecar's own directories. Whoever registers runs this first — the server before it listens, the routes
 * before the service sees the input — so the service only ever holds valid registrations.
 */
import { ApiError } from '@chartsync/api';
import { dependencySchema, describeIssues, repoSchema } from '@chartsync/api/schemas';
import type { DependencyRepository } from '../chart/model.js';
import { checkRef, checkRepositoryUrl, type GitAuth, GitError, type UrlPolicy } from '../git/index.js';
import { checkCaBundle } from '../oci/settings.js';
import { scheduleOf } from '../standalone/schedule.js';
import { splitUrlCredentials, UrlCredentialsError } from '../url/credentials.js';
import type { RepoRecord } from './store.js';

/** A registration refused: the message names the field (`git: …`, `name: …`). */
function refused(message: string, cause?: unknown): ApiError {
  return new ApiError('invalid_input', message, { cause, reason: 'InvalidInput' });
}

/** Credentials of a URL, or a refusal naming the field (never the credentials). */
function split(field: string, url: string): ReturnType<typeof splitUrlCredentials> {
  try {
    return splitUrlCredentials(url);
  } catch (err) {
    if (err instanceof UrlCredentialsError) throw refused(`${field}: ${err.message}`, err);
    throw err;
  }
}

/** Runs a git policy check, its refusal naming the field. */
function policyCheck(field: string, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof GitError) throw refused(`${field}: ${err.message}`, err);
    throw err;
  }
}

/** Validates a git repository registration (any source) into the record the service keeps. */
export function repoRegistration(raw: unknown, policy: UrlPolicy): RepoRecord {
  const parsed = repoSchema.safeParse(raw);
  if (!parsed.success) throw refused(describeIssues(parsed.error));
  const input = parsed.data;
  const fromUrl = split('git', input.git);
  policyCheck('git', () => checkRepositoryUrl(fromUrl.url, policy));
  if (input.ref !== undefined) policyCheck('ref', () => checkRef(input.ref as string));
  const httpAuth = Boolean(input.username || input.password || fromUrl.username || fromUrl.password);
  if (httpAuth && (input.sshKey || input.knownHosts))
    throw refused('give either username/password (also in the URL) or sshKey/knownHosts, not both');
  let schedule: string | undefined;
  try {
    schedule = scheduleOf(input);
  } catch (err) {
    throw refused(`schedule: ${(err as Error).message}`, err);
  }
  // explicit fields win over what the URL carried
  const auth: GitAuth = {
    ...((input.username || fromUrl.username) && { username: input.username || fromUrl.username }),
    ...((input.password || fromUrl.password) && { password: input.password || fromUrl.password }),
    ...(input.sshKey ? { sshKey: input.sshKey } : {}),
    ...(input.knownHosts ? { knownHosts: input.knownHosts } : {}),
  };
  return {
    name: input.name,
    git: fromUrl.url,
    ...(input.ref ? { ref: input.ref } : {}),
    ...(input.paths?.length ? { paths: input.paths } : {}),
    prune: input.prune ?? true,
    ...(Object.keys(auth).length ? { auth } : {}),
    ...(schedule && input.schedule ? { schedule: input.schedule } : {}),
    ...(input.everyMinutes ? { everyMinutes: input.everyMinutes } : {}),
  };
}

/** Validates a dependency repository registration; credentials in its URLs are split out. */
export function dependencyRegistration(raw: unknown): DependencyRepository {
  const parsed = dependencySchema.safeParse(raw);
  if (!parsed.success) throw refused(describeIssues(parsed.error));
  const input = parsed.data;
  const url = split('url', input.url);
  // `mirrorOf` names a public location to match, it is never fetched: credentials there are dropped
  const mirrorOf = input.mirrorOf === undefined ? undefined : split('mirrorOf', input.mirrorOf).url;
  const username = input.username || url.username;
  const password = input.password || url.password;
  let caData: string | undefined;
  if (input.caData !== undefined) {
    try {
      caData = checkCaBundle(input.caData, 'caData');
    } catch (err) {
      throw refused((err as Error).message, err);
    }
  }
  return {
    name: input.name,
    url: url.url,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(mirrorOf ? { mirrorOf } : {}),
    ...(caData ? { caData } : {}),
    ...(input.insecurePlainHttp ? { insecurePlainHttp: true } : {}),
    ...(input.repo ? { repo: input.repo } : {}),
  };
}
