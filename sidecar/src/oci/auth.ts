/**
 * Registry authentication as docker and helm (oras) do it: a request without credentials is
 * answered 401 with `WWW-Authenticate`; `Basic` means send the user's credentials on each
 * request; `Bearer realm=…,service=…,scope=…` means get a token from the realm (with the
 * user's credentials as basic auth when there are any, anonymously otherwise) and send it.
 * Tokens are cached per registry and scope until shortly before they expire. Credentials are
 * looked up per registry host and sent only to that host and its token realm.
 */
import { send, shownUrl, type TransportOptions } from './transport.js';

export interface OciCredentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export class OciAuthError extends Error {
  override name = 'OciAuthError';
}

/** Parses a `WWW-Authenticate` header (one challenge; quoted or token values). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] ?? '';
  re.lastIndex = 0;
  for (let p = re.exec(rest); p; p = re.exec(rest)) {
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}

export function basicHeader(c: OciCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

const MAX_TOKEN_BYTES = 1024 * 1024;

interface CachedToken {
  header: string;
  expires: number;
}

/** Authorization headers for one registry client (its credentials and its token cache). */
export class Authorizer {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly basic = new Set<string>();
  private readonly credentials: (registry: string) => OciCredentials | undefined;
  /** How to reach a registry; its token realm is reached the same way (its CA is trusted there). */
  private readonly transport: (registry: string) => TransportOptions;
  /** Whether a registry is spoken to over plain HTTP (allowed so) or https. */
  private readonly scheme: (registry: string) => 'http' | 'https';
  constructor(
    credentials: (registry: string) => OciCredentials | undefined,
    transport: (registry: string) => TransportOptions,
    scheme: (registry: string) => 'http' | 'https',
  ) {
    this.credentials = credentials;
    this.transport = transport;
    this.scheme = scheme;
  }

  /** The header to send before any challenge was seen (a cached token, or basic auth). */
  cached(registry: string, scope: string): string | undefined {
    const token = this.tokens.get(`${registry} ${scope}`);
    if (token && token.expires > Date.now()) return token.header;
    const creds = this.basic.has(registry) ? this.credentials(registry) : undefined;
    return creds ? basicHeader(creds) : undefined;
  }

  /** Answers a 401 challenge: the header to retry with, or an error that says why not. */
  async answer(registry: string, scope: string, challenge: Challenge | undefined): Promise<string> {
    const creds = this.credentials(registry);
    if (challenge?.scheme === 'basic') {
      if (!creds)
        throw new OciAuthError(
          `${registry} requires credentials (basic auth) and none are configured for it`,
        );
      this.basic.add(registry);
      return basicHeader(creds);
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new OciAuthError(`${registry} answered 401 without a usable WWW-Authenticate challenge`);
    }
    const header = await this.fetchToken(registry, scope, challenge.params, creds);
    return header;
  }

  private async fetchToken(
    registry: string,
    scope: string,
    params: Record<string, string>,
    creds: OciCredentials | undefined,
  ): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm as string);
    } catch {
      throw new OciAuthError(`${registry}: token realm '${String(params.realm).slice(0, 200)}' is not a URL`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new OciAuthError(`${registry}: token realm must be http(s), got ${realm.protocol}`);
    }
    // Credentials travel in clear text only where they already do: to a realm on the host of a
    // registry allowed plain HTTP. An https registry naming a plain-http realm (even on its own
    // host) would expose them on the wire; helm refuses that too.
    const sameHost = realm.hostname === registry.replace(/:\d+$/, '');
    if (creds && realm.protocol === 'http:' && !(sameHost && this.scheme(registry) === 'http')) {
      throw new OciAuthError(
        `${registry}: refusing to send credentials to the plain-http token realm ${shownUrl(realm.href)} (${sameHost ? 'the registry itself is spoken to over https' : 'another host'})`,
      );
    }
    if (params.service) realm.searchParams.set('service', params.service);
    for (const s of scope.split(' ')) if (s) realm.searchParams.append('scope', s);
    const res = await send(
      {
        method: 'GET',
        url: realm.href,
        headers: { accept: 'application/json', ...(creds ? { authorization: basicHeader(creds) } : {}) },
        maxBytes: MAX_TOKEN_BYTES,
      },
      this.transport(registry),
    );
    if (res.status === 401 || res.status === 403) {
      throw new OciAuthError(
        creds
          ? `${registry}: authentication failed: the token service ${shownUrl(realm.href)} refused the configured credentials (HTTP ${res.status})`
          : `${registry} requires credentials: the token service ${shownUrl(realm.href)} refused an anonymous token (HTTP ${res.status})`,
      );
    }
    if (res.status !== 200) {
      throw new OciAuthError(
        `${registry}: token service ${shownUrl(realm.href)} answered HTTP ${res.status}`,
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new OciAuthError(`${registry}: token service ${shownUrl(realm.href)} did not answer JSON`);
    }
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw new OciAuthError(`${registry}: token service ${shownUrl(realm.href)} answered without a token`);
    }
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const header = `Bearer ${token}`;
    this.tokens.set(`${registry} ${scope}`, { header, expires: Date.now() + Math.max(ttl - 10, 5) * 1000 });
    return header;
  }
}
