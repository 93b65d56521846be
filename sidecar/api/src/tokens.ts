/**
 * Scoped update tokens. The admin token (held by the operator) may do everything; an update
 * token may only trigger `/repo/<repo>/update` of the one repository it names. Update tokens are
 * derived from the admin token, `update.<repo>.<HMAC-SHA256(admin, "chartsync update <repo>")>`,
 * so the sidecar verifies them without storing anything, the operator issues them without asking
 * the sidecar, and rotating the admin token revokes them all. The repo name inside is only a
 * claim: the MAC is what binds it.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const PREFIX = 'update';
/** Repo names are DNS-1123 labels: no dots, so the three parts split unambiguously. */
const SHAPE = /^update\.([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{43})$/;

/** The update token of `repo` under `adminToken`. */
export function updateTokenFor(adminToken: string, repo: string): string {
  const mac = createHmac('sha256', adminToken).update(`chartsync update ${repo}`).digest('base64url');
  return `${PREFIX}.${repo}.${mac}`;
}

/** The repository an update token claims, or undefined when `token` does not look like one. */
export function claimedRepo(token: string): string | undefined {
  return SHAPE.exec(token)?.[1];
}

/**
 * The API token from the environment, read the same way by the sidecar (the token it requires)
 * and the operator (the token it sends): `SIDECAR_TOKEN` wins over `SIDECAR_TOKEN_FILE` (a
 * mounted Secret), surrounding whitespace is dropped, and no variable means no token. A token
 * (variable or file) that is blank, or a file that is unreadable, throws, naming the file: read as "no token" it would start a
 * sidecar without authentication, or an operator that every call of is refused.
 */
export function tokenFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (env.SIDECAR_TOKEN) {
    // set but blank (`SIDECAR_TOKEN=" "`): read as "no token" it would open the API
    const token = env.SIDECAR_TOKEN.trim();
    if (!token) throw new Error('SIDECAR_TOKEN is blank (only whitespace)');
    return token;
  }
  const file = env.SIDECAR_TOKEN_FILE;
  if (!file) return undefined;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`SIDECAR_TOKEN_FILE=${file}: ${(err as Error).message}`);
  }
  if (!token) throw new Error(`SIDECAR_TOKEN_FILE=${file} is empty`);
  return token;
}
