/**
 * How chartsync reaches a registry: which extra CA certificates it trusts and whether it may
 * speak plain HTTP to it. Two levels, like helm's `--ca-file` / `--plain-http` per command and
 * the system trust store:
 * - per registry, where the registry is declared: a dependency repository's `caData` /
 *   `insecurePlainHttp` (API, config `caFile`, CLI `--ca-file`/`--plain-http`), the oci publish
 *   target's `--oci-ca-file` / `--oci-plain-http`. A registry's CA is trusted for that registry
 *   (and the token service it names), never for another one.
 * - process-wide defaults from the environment, for every registry and command alike:
 *   `CHARTSYNC_OCI_CA_FILE` — PEM certificates trusted for every registry in addition to the
 *   system's; `CHARTSYNC_OCI_PLAIN_HTTP` — comma-separated `host[:port]` registries spoken to
 *   over plain HTTP. Every other registry is https only.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Process-wide defaults (the environment, or a caller's override). */
export interface OciSettings {
  caCerts?: string;
  plainHttp?: readonly string[] | boolean;
}

/** What one registry was declared with. */
export interface RegistryAccess {
  /** PEM certificates trusted for this registry only. */
  caCerts?: string | undefined;
  /** Speak plain HTTP to this registry. */
  plainHttp?: boolean | undefined;
}

/** A CA bundle larger than this is refused (a real one is a few KiB). */
export const MAX_CA_BYTES = 256 * 1024;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/**
 * Checks a PEM bundle: one or more certificates and nothing else but whitespace. The message
 * names `field` and never quotes the input. Returns the bundle normalised to its blocks.
 */
export function checkCaBundle(pem: string, field: string): string {
  if (Buffer.byteLength(pem) > MAX_CA_BYTES)
    throw new Error(`${field}: larger than ${MAX_CA_BYTES} bytes; expected PEM CA certificates`);
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (!blocks.length || pem.replace(PEM_BLOCK, '').trim() !== '')
    throw new Error(
      `${field}: not PEM certificates (expected one or more -----BEGIN CERTIFICATE----- blocks and nothing else)`,
    );
  for (const [i, block] of blocks.entries()) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      throw new Error(`${field}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate`);
    }
    if (!cert.ca)
      throw new Error(
        `${field}: certificate ${i + 1} of ${blocks.length} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`,
      );
  }
  return `${blocks.join('\n')}\n`;
}

/** Reads and checks a CA file; the message names `field` and the file, not its content. */
export function readCaFile(path: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${field} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  return checkCaBundle(text, `${field} ${path}`);
}

let fromEnv: { key: string; settings: OciSettings } | undefined;

export function ociSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OciSettings {
  const key = `${env.CHARTSYNC_OCI_CA_FILE ?? ''}\u0000${env.CHARTSYNC_OCI_PLAIN_HTTP ?? ''}`;
  if (fromEnv?.key === key) return fromEnv.settings;
  const settings: OciSettings = {};
  if (env.CHARTSYNC_OCI_CA_FILE)
    settings.caCerts = readCaFile(env.CHARTSYNC_OCI_CA_FILE, 'CHARTSYNC_OCI_CA_FILE');
  const plain = (env.CHARTSYNC_OCI_PLAIN_HTTP ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (plain.length) settings.plainHttp = plain;
  fromEnv = { key, settings };
  return settings;
}

/** Whether the process-wide defaults send `registry` over plain HTTP. */
export function plainByDefault(registry: string, settings: OciSettings): boolean {
  const p = settings.plainHttp;
  return p === true || (Array.isArray(p) && p.includes(registry));
}
