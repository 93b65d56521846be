/**
 * Scrubbing of credentials from text git produced or that names a URL: user info, query and
 * fragment of URLs (`https://user:token@host/a.git?access_token=…`) and the literal secret values
 * of the command that ran (session.ts: passwords, keys, the URL's query values). Anything
 * this layer surfaces (error messages, log fields) goes through here first. What a URL's user
 * info is, is decided in one place: url/credentials.ts.
 */
import { redactUrl, redactUrlsIn } from '../url/credentials.js';

const MASK = '***';

export { redactUrl };

/**
 * `text` with the user info, query and fragment of URLs removed and every secret value (and, for
 * passwords, their usual encodings in HTTP headers) masked. Short secrets are masked too: a
 * 3-character password in a message is still a password.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = redactUrlsIn(text);
  for (const secret of secretForms(secrets)) out = out.split(secret).join(MASK);
  return out;
}

function secretForms(secrets: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(Buffer.from(s).toString('base64'));
    // multi-line secrets (ssh keys): any one line of them is secret
    for (const line of s.split(/\r?\n/)) if (line.trim().length >= 16) forms.add(line.trim());
  }
  // longest first, so a secret that contains another is masked whole
  return [...forms].sort((a, b) => b.length - a.length);
}
