/**
 * Process-wide OCI settings, for every command (serve, sync, package) alike:
 * `CHARTSYNC_OCI_CA_FILE` — PEM certificates trusted for registries in addition to the system's;
 * `CHARTSYNC_OCI_PLAIN_HTTP` — comma-separated `host[:port]` registries spoken to over plain
 * HTTP (helm's `--plain-http`); every other registry is https only.
 */
import { readFileSync } from 'node:fs';

export interface OciSettings {
  caCerts?: string;
  plainHttp?: readonly string[] | boolean;
}

let fromEnv: { key: string; settings: OciSettings } | undefined;

export function ociSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OciSettings {
  const key = `${env.CHARTSYNC_OCI_CA_FILE ?? ''}\u0000${env.CHARTSYNC_OCI_PLAIN_HTTP ?? ''}`;
  if (fromEnv?.key === key) return fromEnv.settings;
  const settings: OciSettings = {};
  if (env.CHARTSYNC_OCI_CA_FILE) settings.caCerts = readFileSync(env.CHARTSYNC_OCI_CA_FILE, 'utf8');
  const plain = (env.CHARTSYNC_OCI_PLAIN_HTTP ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (plain.length) settings.plainHttp = plain;
  fromEnv = { key, settings };
  return settings;
}
