/**
 * The one home of credentials in URLs, for every URL form chartsync takes (git URLs of any
 * scheme, scp-like `user@host:path`, Helm repository URLs): splitting them out of a URL, and
 * removing them from a URL or a text before it is shown (logs, answers, status, errors).
 * Pure: no I/O.
 *
 * Rules (docs/security.md):
 * - `scheme://user:password@host/…`: the user info is everything between `://` and the last
 *   `@` of the authority; user and password are percent-decoded. A password with a literal
 *   space or `@` works; `/`, `?` and `#` end the authority, so they must be percent-encoded —
 *   a URL with `@` after an authority that is not `host[:port]` is refused as ambiguous.
 * - ssh (`ssh://`, `git+ssh://`, `ssh+git://`, `user@host:path`): the user stays in the URL
 *   (ssh needs it, it is no secret); a password is refused — ssh runs with keys only.
 * - Errors never quote the user info; they name what is wrong with it.
 * - Query and fragment stay in the URL that is used (tokens travel there, e.g. `?access_token=`
 *   or a storage SAS token) but are never shown: redactUrl and redactUrlsIn remove them, as they
 *   remove user info, and urlSecrets lists their values for masking wherever they appear alone.
 */

export class UrlCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlCredentialsError';
  }
}

export interface SplitUrl {
  /** The URL without credentials (an ssh URL keeps its user). */
  url: string;
  username?: string;
  password?: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is;
const SSH_SCHEMES = new Set(['ssh', 'git+ssh', 'ssh+git']);
const HOST_PORT = /^(\[[0-9a-f:.]*\]|[^\s@:/?#[\]]*)(:\d*)?$/i;
const SCP = /^([^/@]*)@(\[[^\]/]*\]|[^@/:]+):(.*)$/s;

interface Parts {
  /** `scheme://` or '' for scp-like. */
  prefix: string;
  scheme: string | undefined;
  userinfo: string | undefined;
  /** host, port, path, query… after the user info. */
  rest: string;
}

/** Where the user info of `url` is, or undefined for a URL without any. Throws on ambiguity. */
function locate(url: string): Parts | undefined {
  const m = SCHEME.exec(url);
  if (m) {
    const scheme = (m[1] as string).toLowerCase();
    const after = m[2] as string;
    const end = after.search(/[/?#]/);
    const authority = end < 0 ? after : after.slice(0, end);
    const at = authority.lastIndexOf('@');
    if (at < 0) {
      if (after.includes('@') && !HOST_PORT.test(authority))
        throw new UrlCredentialsError(
          'the user info of the URL is not percent-encoded: write "/" as %2F, "?" as %3F, "#" as %23 (and "@" as %40) in user names and passwords',
        );
      return undefined;
    }
    return {
      prefix: `${m[1]}://`,
      scheme,
      userinfo: authority.slice(0, at),
      rest: after.slice(at + 1),
    };
  }
  const scp = SCP.exec(url);
  if (scp)
    return {
      prefix: '',
      scheme: undefined,
      userinfo: scp[1] as string,
      rest: url.slice(scp[1]?.length ?? 0).slice(1),
    };
  return undefined;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UrlCredentialsError(`the ${what} in the URL has a malformed percent-escape (write "%" as %25)`);
  }
}

/** Splits user and password out of `url`. Throws UrlCredentialsError (never quoting them). */
export function splitUrlCredentials(url: string): SplitUrl {
  const p = locate(url);
  if (!p || p.userinfo === undefined) return { url };
  const colon = p.userinfo.indexOf(':');
  const rawUser = colon < 0 ? p.userinfo : p.userinfo.slice(0, colon);
  const rawPassword = colon < 0 ? undefined : p.userinfo.slice(colon + 1);
  const ssh = p.scheme === undefined || SSH_SCHEMES.has(p.scheme);
  if (ssh) {
    if (rawPassword !== undefined)
      throw new UrlCredentialsError(
        'ssh URLs cannot carry a password (ssh runs with a key only): remove it from the URL and give sshKey and knownHosts',
      );
    decode(rawUser, 'user name');
    return { url };
  }
  const username = decode(rawUser, 'user name');
  const password = rawPassword === undefined ? undefined : decode(rawPassword, 'password');
  return {
    url: `${p.prefix}${p.rest}`,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/**
 * `url` as it may be shown: no password, no user except an ssh user, no query or fragment
 * (tokens travel there too). A URL whose user info cannot be told apart loses everything
 * between `://` and its last `@`.
 */
export function redactUrl(url: string): string {
  let shown: string;
  try {
    const p = locate(url);
    // no form this module knows (e.g. `ext::…`), yet an `@`: whatever precedes it may be secret
    if (!p) shown = url.includes('@') && !SCHEME.test(url) ? `…${url.slice(url.lastIndexOf('@'))}` : url;
    else if (p.scheme === undefined || SSH_SCHEMES.has(p.scheme)) {
      const user = (p.userinfo ?? '').split(':')[0] ?? '';
      shown = `${p.prefix}${user ? `${user}@` : ''}${p.rest}`;
    } else shown = `${p.prefix}${p.rest}`;
  } catch {
    const m = SCHEME.exec(url);
    shown = m
      ? `${m[1]}://${(m[2] as string).slice((m[2] as string).lastIndexOf('@') + 1)}`
      : '<invalid URL>';
  }
  return SCHEME.test(shown) ? shown.replace(/[?#].*$/s, '') : shown;
}

// A URL inside free text (git's messages, log lines): from its scheme up to whitespace or a
// quote. Its user info runs to the token's last `@`; its query and fragment to the token's end.
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s'"<>]*)/gi;

/**
 * `text` with the user info, query and fragment of every URL in it removed (git's own output,
 * log lines), as redactUrl shows a URL: `fatal: unable to access
 * 'https://u:p@host/a.git?access_token=…/'` becomes `… 'https://host/a.git'`.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (_m, scheme: string, rest: string) => {
    const afterUserinfo = rest.slice(rest.lastIndexOf('@') + 1);
    return `${scheme}${afterUserinfo.replace(/[?#].*$/s, '')}`;
  });
}

/**
 * Shorter query values are not masked on their own (`1`, `true`, `main` are no tokens, and masking
 * them would garble every message); in a URL they are removed with the rest of the query.
 */
const MIN_QUERY_VALUE = 6;

function decodeLeniently(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/**
 * The secret values a URL carries besides its user info (splitUrlCredentials takes that out):
 * its query and fragment whole, and each query value, raw and percent-decoded. Git and servers
 * may print them detached from the URL, where redactUrlsIn cannot see them; callers mask these
 * literally (git/redact.ts). Empty for URLs without a scheme (scp-like: no query).
 */
export function urlSecrets(url: string | undefined): string[] {
  const m = url === undefined ? null : SCHEME.exec(url);
  if (!m) return [];
  const rest = m[2] as string;
  const hash = rest.indexOf('#');
  const fragment = hash < 0 ? '' : rest.slice(hash + 1);
  const beforeHash = hash < 0 ? rest : rest.slice(0, hash);
  const mark = beforeHash.indexOf('?');
  const query = mark < 0 ? '' : beforeHash.slice(mark + 1);
  const values = [query, fragment].flatMap((part) =>
    part.split('&').flatMap((pair) => {
      const raw = pair.slice(pair.indexOf('=') + 1);
      return [raw, decodeLeniently(raw)];
    }),
  );
  return [...new Set([query, fragment, ...values])].filter((v) => v.length >= MIN_QUERY_VALUE);
}
