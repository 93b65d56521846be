/**
 * Credentials written into an HTTP(S) URL (`https://user:token@host/repo`) are moved into the
 * auth of the command, so that the URL git records in `.git/config`, and every message naming
 * it, carries none.
 */
import type { GitAuth } from './session.js';

export function splitUrlCredentials(
  url: string,
  auth: GitAuth | undefined,
): { url: string; auth: GitAuth | undefined } {
  const m = /^(https?:\/\/)([^/@]*)@(.*)$/i.exec(url);
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
