/**
 * Credentials written into a URL (`https://user:token@host/repo`) are moved into the auth of the
 * command, so that the URL git records in `.git/config`, and every message naming it, carries
 * none. An ssh URL keeps its user (ssh needs it) but loses any password, which ssh would never
 * use (BatchMode); the password is kept as a secret only so that output is scrubbed of it.
 */
import type { GitAuth } from './session.js';

const HTTP = /^(https?:\/\/)([^/@]*)@(.*)$/i;
const SSH = /^((?:ssh|git\+ssh|ssh\+git):\/\/)([^/@:]*):([^/@]*)@(.*)$/i;

export function splitUrlCredentials(
  url: string,
  auth: GitAuth | undefined,
): { url: string; auth: GitAuth | undefined } {
  const ssh = SSH.exec(url);
  if (ssh) {
    return {
      url: `${ssh[1]}${ssh[2]}@${ssh[4]}`,
      auth: { password: safeDecode(ssh[3] ?? ''), ...definedOnly(auth) },
    };
  }
  const m = HTTP.exec(url);
  if (!m) return { url, auth };
  const [user = '', password] = (m[2] ?? '').split(/:(.*)/s);
  const fromUrl: GitAuth = {
    username: safeDecode(user) || undefined,
    password: password === undefined ? undefined : safeDecode(password),
  };
  return { url: `${m[1]}${m[3]}`, auth: { ...fromUrl, ...definedOnly(auth) } };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function definedOnly(auth: GitAuth | undefined): GitAuth {
  return Object.fromEntries(Object.entries(auth ?? {}).filter(([, v]) => v !== undefined && v !== ''));
}
