/**
 * The OCI distribution API, the part helm uses: tag listing (paginated by `Link`), manifests
 * and blobs by digest with verification, blob upload (monolithic POST+PUT, skipped when the
 * registry has the blob), manifest PUT and DELETE. Every request goes through `call`, which
 * adds the authorization for the repository's scope and answers one 401 challenge.
 * Errors name the registry and repository and never carry credentials, tokens or upload URLs.
 */
import { createHash } from 'node:crypto';
import { Authorizer, OciAuthError, type OciCredentials, parseChallenge } from './auth.js';
import type { OciRepository } from './reference.js';
import { type OciSettings, plainByDefault, type RegistryAccess } from './settings.js';
import {
  type OciRequest,
  type OciResponse,
  send,
  shownUrl,
  TransportError,
  type TransportOptions,
} from './transport.js';

export const MEDIA_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT_MANIFESTS = [
  MEDIA_OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
/** oras' bound on a manifest. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TAG_PAGE_BYTES = 4 * 1024 * 1024;
/**
 * All pages of one tag listing together (some 200,000 real tags): a hostile registry's endless
 * or padded pagination ends here instead of in the process's memory.
 */
const MAX_TAG_LIST_BYTES = 16 * 1024 * 1024;
const MAX_TAG_PAGES = 1000;
export const DEFAULT_OCI_TIMEOUT_MS = 60_000;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface OciClientOptions extends OciSettings {
  /** Deadline of one request (default 60 s). */
  timeoutMs?: number;
  /** Credentials of a registry host (`host[:port]`), or none (anonymous). */
  credentials?: (registry: string) => OciCredentials | undefined;
  /**
   * The CA and plain-HTTP permission a registry host was declared with; `caCerts` and
   * `plainHttp` of these options are the process-wide defaults beneath them.
   */
  access?: (registry: string) => RegistryAccess | undefined;
  /** Tags asked for per page (`n`); the registry may send fewer and links the next page. */
  tagPageSize?: number;
}

export type OciErrorKind = 'auth' | 'notFound' | 'unavailable' | 'integrity' | 'limit' | 'invalid' | 'failed';

export class OciError extends Error {
  override name = 'OciError';
  readonly kind: OciErrorKind;
  readonly status: number | undefined;
  constructor(kind: OciErrorKind, message: string, status?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

export const sha256Digest = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Only sha256 digests are accepted (what helm and every registry write). */
export function assertDigest(digest: unknown, what: string): asserts digest is string {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new OciError('invalid', `${what}: '${String(digest).slice(0, 100)}' is not a sha256 digest`);
  }
}

/** The registry's own error codes and messages, shortened: they help and never hold secrets. */
function registryErrors(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const parts = (parsed.errors ?? []).map((e) =>
      `${String(e.code ?? '')} ${String(e.message ?? '')}`.trim(),
    );
    return parts.length
      ? `: ${parts
          .join('; ')
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 300)}`
      : '';
  } catch {
    return '';
  }
}

/**
 * A 401 from another origin than the one asked (a redirect target: object storage, a CDN) is
 * not the registry's challenge: answering it would send the registry's credentials to the
 * realm a third party names, so it is an error instead.
 */
function refuseForeignChallenge(where: string, asked: string, answered: string): void {
  if (new URL(answered).origin === new URL(asked).origin) return;
  throw new OciError(
    'auth',
    `${where}: ${shownUrl(answered)}, where the registry redirected, asked for authentication; the registry's credentials are not sent there`,
    401,
  );
}

function nextPage(link: string | null, current: string, where: string): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!m) return undefined;
  const next = new URL(m[1] as string, current);
  if (next.origin === new URL(current).origin) return next.href;
  // A next page on another origin would take our token along, and stopping there would pick a
  // version from part of the list without a word: neither, the listing fails and says why.
  throw new OciError(
    'invalid',
    `${where}: the tag list's next page is on another origin (${next.origin.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}); not followed`,
  );
}

export class OciClient {
  private readonly opts: OciClientOptions;
  private readonly auth: Authorizer;
  private readonly tagPageSize: number;

  constructor(opts: OciClientOptions = {}) {
    this.opts = opts;
    this.tagPageSize = opts.tagPageSize ?? 1000;
    this.auth = new Authorizer(
      opts.credentials ?? (() => undefined),
      (r) => this.transport(r),
      (r) => this.scheme(r),
    );
  }

  /** The registry's own CA (if declared) on top of the process-wide one, for its origin only. */
  private transport(registry: string): TransportOptions {
    return {
      timeoutMs: this.opts.timeoutMs ?? DEFAULT_OCI_TIMEOUT_MS,
      defaultCaCerts: this.opts.caCerts,
      caCerts: this.opts.access?.(registry)?.caCerts,
    };
  }

  /** https, unless this registry was allowed plain HTTP (declared so, or by the process default). */
  scheme(registry: string): 'http' | 'https' {
    const plain = this.opts.access?.(registry)?.plainHttp === true || plainByDefault(registry, this.opts);
    return plain ? 'http' : 'https';
  }

  private base(repo: OciRepository): string {
    return `${this.scheme(repo.registry)}://${repo.registry}/v2/${repo.path}`;
  }

  /** `GET /v2/` of a registry, unauthenticated: its HTTP status (200 or 401 when it is up). */
  async ping(registry: string, timeoutMs: number): Promise<number> {
    const res = await send(
      { method: 'GET', url: `${this.scheme(registry)}://${registry}/v2/`, maxBytes: 64 * 1024 },
      { ...this.transport(registry), timeoutMs },
    );
    return res.status;
  }

  private where(repo: OciRepository): string {
    return `oci://${repo.registry}/${repo.path}`;
  }

  /** Sends with the scope's authorization; answers one 401 challenge and retries once. */
  private async call(repo: OciRepository, actions: string, req: OciRequest): Promise<OciResponse> {
    const scope = `repository:${repo.path}:${actions}`;
    const attempt = async (authorization: string | undefined) => {
      try {
        return await send(
          { ...req, headers: { ...req.headers, ...(authorization ? { authorization } : {}) } },
          this.transport(repo.registry),
        );
      } catch (err) {
        if (err instanceof TransportError) {
          throw new OciError(
            err.kind === 'limit' ? 'limit' : 'unavailable',
            `${this.where(repo)}: ${err.message}`,
          );
        }
        throw err;
      }
    };
    let res = await attempt(this.auth.cached(repo.registry, scope));
    if (res.status === 401) {
      refuseForeignChallenge(this.where(repo), req.url, res.url);
      let header: string;
      try {
        header = await this.auth.answer(
          repo.registry,
          scope,
          parseChallenge(res.headers.get('www-authenticate')),
        );
      } catch (err) {
        if (err instanceof OciAuthError)
          throw new OciError('auth', `${this.where(repo)}: ${err.message}`, 401);
        if (err instanceof TransportError)
          throw new OciError('unavailable', `${this.where(repo)}: token service: ${err.message}`);
        throw err;
      }
      res = await attempt(header);
      if (res.status === 401) {
        throw new OciError(
          'auth',
          `${this.where(repo)}: authentication failed (HTTP 401 with the configured credentials)${registryErrors(res.body)}`,
          401,
        );
      }
    }
    if (res.status === 403) {
      throw new OciError(
        'auth',
        `${this.where(repo)}: access denied (HTTP 403)${registryErrors(res.body)}`,
        403,
      );
    }
    return res;
  }

  private fail(repo: OciRepository, what: string, res: OciResponse): never {
    const kind: OciErrorKind =
      res.status === 404 ? 'notFound' : res.status >= 500 || res.status === 429 ? 'unavailable' : 'failed';
    throw new OciError(
      kind,
      `${this.where(repo)}: ${what}: HTTP ${res.status}${registryErrors(res.body)}`,
      res.status,
    );
  }

  /** Every tag of the repository, following `Link` pagination; none when it does not exist. */
  async tags(repo: OciRepository): Promise<string[]> {
    const tags: string[] = [];
    const seen = new Set<string>();
    let budget = MAX_TAG_LIST_BYTES;
    let url: string | undefined = `${this.base(repo)}/tags/list?n=${this.tagPageSize}`;
    for (let page = 0; url; page++) {
      // A next page already read, or too many of them, would loop or truncate: say so rather
      // than choose a version from a list that is not the registry's.
      if (seen.has(url) || page >= MAX_TAG_PAGES) {
        throw new OciError(
          'invalid',
          `${this.where(repo)}: the tag list ${seen.has(url) ? 'links back to a page already read' : `has more than ${MAX_TAG_PAGES} pages`}`,
        );
      }
      seen.add(url);
      const res = await this.call(repo, 'pull', {
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        maxBytes: Math.min(MAX_TAG_PAGE_BYTES, budget),
      }).catch((err) => {
        if (!(err instanceof OciError && err.kind === 'limit') || budget === MAX_TAG_LIST_BYTES) throw err;
        throw new OciError(
          'limit',
          `${this.where(repo)}: the tag list exceeds ${MAX_TAG_LIST_BYTES} bytes over ${page + 1} pages`,
        );
      });
      budget -= res.body.length;
      if (res.status === 404) return tags;
      if (res.status !== 200) this.fail(repo, 'listing tags', res);
      let body: { tags?: unknown };
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new OciError('invalid', `${this.where(repo)}: the tag list is not JSON`);
      }
      if (body.tags != null && !Array.isArray(body.tags))
        throw new OciError('invalid', `${this.where(repo)}: the tag list has no tags array`);
      for (const t of (body.tags ?? []) as unknown[]) if (typeof t === 'string') tags.push(t);
      url = nextPage(res.headers.get('link'), url, this.where(repo));
    }
    return tags;
  }

  /**
   * The manifest at a tag or digest, its bytes verified: against the digest asked for, and
   * against the registry's `Docker-Content-Digest`. Undefined when the tag does not exist.
   */
  async manifest(
    repo: OciRepository,
    reference: string,
  ): Promise<{ digest: string; data: Buffer; manifest: Manifest } | undefined> {
    const found = await this.manifestBytes(repo, reference);
    return found && { ...found, manifest: parseManifest(found.data, this.where(repo)) };
  }

  /**
   * The manifest's bytes and digest, verified as `manifest` does but not parsed: what a tag
   * holds may be anything (an image index someone moved it to), and its digest says whether it
   * is still what chartsync pushed.
   */
  async manifestBytes(
    repo: OciRepository,
    reference: string,
  ): Promise<{ digest: string; data: Buffer } | undefined> {
    const res = await this.call(repo, 'pull', {
      method: 'GET',
      url: `${this.base(repo)}/manifests/${encodeURIComponent(reference)}`,
      headers: { accept: ACCEPT_MANIFESTS },
      maxBytes: MAX_MANIFEST_BYTES,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) this.fail(repo, `fetching manifest ${reference}`, res);
    const digest = sha256Digest(res.body);
    const claimed = res.headers.get('docker-content-digest');
    const expected = reference.startsWith('sha256:')
      ? reference
      : claimed?.startsWith('sha256:')
        ? claimed
        : undefined;
    if (expected && expected !== digest) {
      throw new OciError(
        'integrity',
        `${this.where(repo)}: manifest ${reference}: digest mismatch: expected ${expected}, the content is ${digest}`,
      );
    }
    return { digest, data: res.body };
  }

  /** The manifest digest a tag points to, whatever it holds; undefined when the tag does not exist. */
  async resolveTag(repo: OciRepository, tag: string): Promise<string | undefined> {
    const found = await this.manifestBytes(repo, tag);
    return found?.digest;
  }

  /** A blob, refused above `maxBytes` (by its descriptor, before downloading), verified by digest and size. */
  async blob(repo: OciRepository, desc: Descriptor, maxBytes: number): Promise<Buffer> {
    assertDigest(desc.digest, `${this.where(repo)}: blob`);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
      throw new OciError(
        'invalid',
        `${this.where(repo)}: blob ${desc.digest}: invalid size ${String(desc.size)}`,
      );
    }
    if (desc.size > maxBytes) {
      throw new OciError(
        'limit',
        `${this.where(repo)}: blob ${desc.digest} of ${desc.size} bytes exceeds the ${maxBytes}-byte limit`,
      );
    }
    const res = await this.call(repo, 'pull', {
      method: 'GET',
      url: `${this.base(repo)}/blobs/${desc.digest}`,
      maxBytes: desc.size,
    });
    if (res.status !== 200) this.fail(repo, `fetching blob ${desc.digest}`, res);
    const actual = sha256Digest(res.body);
    if (res.body.length !== desc.size || actual !== desc.digest) {
      throw new OciError(
        'integrity',
        `${this.where(repo)}: blob ${desc.digest}: digest mismatch: the content is ${actual} (${res.body.length} bytes, ${desc.size} declared)`,
      );
    }
    return res.body;
  }

  async hasBlob(repo: OciRepository, digest: string): Promise<boolean> {
    const res = await this.call(repo, 'pull,push', {
      method: 'HEAD',
      url: `${this.base(repo)}/blobs/${digest}`,
      maxBytes: 0,
    });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(repo, `checking blob ${digest}`, res);
  }

  /** Uploads a blob unless the registry already has it (monolithic upload: POST then PUT). */
  async pushBlob(repo: OciRepository, data: Buffer): Promise<string> {
    const digest = sha256Digest(data);
    if (await this.hasBlob(repo, digest)) return digest;
    const start = await this.call(repo, 'pull,push', {
      method: 'POST',
      url: `${this.base(repo)}/blobs/uploads/`,
      maxBytes: 64 * 1024,
    });
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) this.fail(repo, 'starting a blob upload', start);
    const upload = new URL(location, start.url);
    if (upload.origin !== new URL(start.url).origin) {
      throw new OciError(
        'invalid',
        `${this.where(repo)}: the registry sent the upload to another origin (${upload.origin}); refused`,
      );
    }
    upload.searchParams.set('digest', digest);
    const put = await this.call(repo, 'pull,push', {
      method: 'PUT',
      url: upload.href,
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      maxBytes: 64 * 1024,
    });
    if (put.status !== 201) this.fail(repo, `uploading blob ${digest}`, put);
    return digest;
  }

  /** PUTs a manifest under a tag; returns its digest (checked against the registry's). */
  async putManifest(
    repo: OciRepository,
    tag: string,
    data: Buffer,
    mediaType = MEDIA_OCI_MANIFEST,
  ): Promise<string> {
    const digest = sha256Digest(data);
    const res = await this.call(repo, 'pull,push', {
      method: 'PUT',
      url: `${this.base(repo)}/manifests/${encodeURIComponent(tag)}`,
      headers: { 'content-type': mediaType },
      body: data,
      maxBytes: 64 * 1024,
    });
    if (res.status !== 201) this.fail(repo, `pushing manifest ${tag}`, res);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) {
      throw new OciError(
        'integrity',
        `${this.where(repo)}: the registry stored manifest ${tag} as ${claimed}, expected ${digest}`,
      );
    }
    return digest;
  }

  /**
   * Deletes a tag alone (OCI distribution 1.1; the manifest stays for other tags naming it and
   * for the registry's garbage collection): `unsupported` when the registry deletes only by
   * digest (400 or 405, as older registries answer).
   */
  async deleteTag(repo: OciRepository, tag: string): Promise<'deleted' | 'absent' | 'unsupported'> {
    const res = await this.call(repo, 'delete', {
      method: 'DELETE',
      url: `${this.base(repo)}/manifests/${encodeURIComponent(tag)}`,
      maxBytes: 64 * 1024,
    });
    if (res.status === 202 || res.status === 200) return 'deleted';
    if (res.status === 404) return 'absent';
    if (res.status === 400 || res.status === 405) return 'unsupported';
    return this.fail(repo, `deleting tag ${tag}`, res);
  }

  /** Deletes a manifest by digest (the tags pointing at it go with it); false when already gone. */
  async deleteManifest(repo: OciRepository, digest: string): Promise<boolean> {
    assertDigest(digest, `${this.where(repo)}: manifest`);
    const res = await this.call(repo, 'delete', {
      method: 'DELETE',
      url: `${this.base(repo)}/manifests/${digest}`,
      maxBytes: 64 * 1024,
    });
    if (res.status === 202 || res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(repo, `deleting manifest ${digest}`, res);
  }
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    typeof x.size === 'number'
  );
}

export function parseManifest(data: Buffer, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(data.toString('utf8'));
  } catch {
    throw new OciError('invalid', `${where}: the manifest is not JSON`);
  }
  if (
    m?.schemaVersion !== 2 ||
    !isDescriptor(m.config) ||
    !Array.isArray(m.layers) ||
    !m.layers.every(isDescriptor)
  ) {
    throw new OciError(
      'invalid',
      `${where}: not an OCI image manifest (schemaVersion 2 with config and layers)`,
    );
  }
  return m;
}
