/**
 * Scoped update tokens. The admin token (held by the operator) may do everything; an update
 * token may only trigger `/repo/<repo>/update` of the one repository it names. Update tokens are
 * derived from the admin token, `update.<repo>.<HMAC-SHA256(admin, "chartsync update <repo>")>`,
 * so the sidecar verifies them without storing anything, the operator issues them without asking
 * the sidecar, and rotating the admin token revokes them all. The repo name inside is only a
 * claim: the MAC is what binds it.
 */
import { createHmac } from 'node:crypto';

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
