/**
 * The sidecar's configuration in one place: command-line flags over the standalone config file
 * over the environment over defaults. Everything the service needs is resolved here, once, into
 * a typed `SidecarConfig`; nothing else reads flags or environment variables.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, tokenFromEnv } from '@chartsync/api';
import { describeIssues, nameSchema } from '@chartsync/api/schemas';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { DependencyRepository } from '../chart/model.js';
import { DEFAULT_MAX_CHECKOUT_SIZE, type UrlPolicy } from '../git/index.js';
import { parseOciUrl } from '../oci/reference.js';
import { ociSettingsFromEnv, readCaFile } from '../oci/settings.js';
import { dependencyRegistration, repoRegistration } from '../registry/registration.js';
import type { RepoRecord } from '../registry/store.js';
import { redactUrl, splitUrlCredentials, UrlCredentialsError } from '../url/credentials.js';
import { parseSize } from './size.js';

export interface ChartMuseumTarget {
  url: string;
  username?: string;
  password?: string;
  token?: string;
}

export interface OciTarget {
  url: string;
  username?: string;
  password?: string;
  /** PEM CA certificates trusted for this registry only (`--oci-ca-file`, checked at start-up). */
  caCerts?: string;
  /** Push over plain HTTP (`--oci-plain-http`). */
  plainHttp?: boolean;
}

export interface SidecarConfig {
  port: number;
  host?: string;
  /** Exactly one publishing target. */
  storageDir?: string;
  chartmuseum?: ChartMuseumTarget;
  /** An OCI registry prefix (`--oci-url`), with its credentials. */
  oci?: OciTarget;
  /** Registrations, sync state, clones and the dependency cache. */
  dataDir: string;
  token?: string;
  policy: UrlPolicy;
  /** Bytes. */
  bodyLimit: number;
  /** Serve `/charts/<repo>/…` from the storage dir (local target only). */
  serveCharts: boolean;
  /** Chart build threads (default: one per core) and the time box of one chart build. */
  build: { threads?: number; timeoutMs?: number };
  /** The most one repository's checkout may hold on disk, in bytes (`--max-checkout-size`). */
  maxCheckoutSize: number;
  /** Standalone: registered at start-up, validated by the one registration path. */
  dependencies: DependencyRepository[];
  repos: RepoRecord[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const SERVE_USAGE = `Usage: chartsync serve [--config FILE] [--port N] [--storage-dir DIR | --chartmuseum-url URL | --oci-url oci://HOST/PATH]
                       [--oci-ca-file FILE] [--oci-plain-http]
                       [--token T] [--allow-local-git] [--allow-insecure-git] [--data-dir DIR]
                       [--max-checkout-size SIZE]

Runs the sidecar HTTP API (default port 3000). With --config, registers the dependency
repositories and git repositories of a standalone config file and keeps them in sync on their
schedules. Charts go to a local storage dir (ChartMuseum --depth=1 layout, served read-only
under /charts/<repo>/), to a ChartMuseum server through its API, or to an OCI registry like
\`helm push\` (each chart as <oci-url>/<repo>/<name>:<version>); --oci-ca-file trusts a CA for
that registry only, --oci-plain-http pushes to it over plain HTTP (helm's --ca-file, --plain-http).
--max-checkout-size caps what one repository's checkout may hold on disk (bytes, or with Ki,
Mi, Gi, Ti: e.g. 512Mi; default 1Gi): a sync whose checkout is larger fails (CheckoutTooLarge).

Environment: SIDECAR_TOKEN / SIDECAR_TOKEN_FILE (bearer token of the /repo routes),
CHARTMUSEUM_USERNAME / CHARTMUSEUM_PASSWORD or CHARTMUSEUM_TOKEN (ChartMuseum credentials),
OCI_USERNAME / OCI_PASSWORD or OCI_PASSWORD_FILE (credentials of the --oci-url registry),
CHARTSYNC_OCI_CA_FILE (extra CA bundle trusted for every registry), CHARTSYNC_OCI_PLAIN_HTTP
(host:port,... reached over plain HTTP, for every command), CHARTSYNC_DATA_DIR, CHARTSYNC_BUILD_TIMEOUT (seconds one chart build may take, default 120),
CHARTSYNC_BUILD_THREADS (default: one per core but one, at least two), CHARTSYNC_MAX_CHECKOUT_SIZE,
LOG_LEVEL.
`;

const SERVE_FLAGS = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'storage-dir': { type: 'string' },
  'chartmuseum-url': { type: 'string' },
  'oci-url': { type: 'string' },
  'oci-ca-file': { type: 'string' },
  'oci-plain-http': { type: 'boolean' },
  'data-dir': { type: 'string' },
  token: { type: 'string' },
  'allow-local-git': { type: 'boolean' },
  'allow-insecure-git': { type: 'boolean' },
  'max-checkout-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type ServeFlags = ReturnType<typeof parseServeFlags>;

export function parseServeFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: SERVE_FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

const fileSchema = z
  .object({
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().optional(),
    storageDir: z.string().optional(),
    chartmuseumUrl: z.string().url().optional(),
    ociUrl: z.string().optional(),
    ociCaFile: z.string().optional(),
    ociInsecurePlainHttp: z.boolean().optional(),
    dataDir: z.string().optional(),
    allowLocalGit: z.boolean().optional(),
    allowInsecureGit: z.boolean().optional(),
    serveCharts: z.boolean().optional(),
    buildTimeoutSeconds: z.number().positive().max(86_400).optional(),
    buildThreads: z.number().int().min(1).max(256).optional(),
    // bytes, or a size with a unit ('512Mi'): checked by maxCheckoutSize() with the flag's rules
    maxCheckoutSize: z.union([z.number(), z.string()]).optional(),
    // validated entry by entry through registry/registration.ts, like API bodies
    dependencies: z.array(z.unknown()).default([]),
    repos: z.array(z.unknown()).default([]),
  })
  .strict();

type FileConfig = z.output<typeof fileSchema> & { path: string };

/** Reads and validates a standalone config file; relative paths are taken relative to it. */
export async function loadConfigFile(path: string): Promise<FileConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config ${path}: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(`config ${path}: ${describeIssues(parsed.error)}`);
  const base = dirname(resolve(path));
  const cfg = parsed.data;
  for (const repo of cfg.repos) {
    const r = repo as { git?: unknown };
    if (r && typeof r.git === 'string' && /^\.\.?\//.test(r.git)) r.git = resolve(base, r.git);
  }
  for (const [i, dep] of cfg.dependencies.entries()) {
    const d = dep as { caFile?: unknown; caData?: unknown } | null;
    if (d?.caFile === undefined) continue;
    if (typeof d.caFile !== 'string' || d.caData !== undefined)
      throw new ConfigError(
        `config ${path}: dependencies.${i}: caFile: must be a file path, and not given with caData`,
      );
    try {
      d.caData = readCaFile(resolve(base, d.caFile), 'caFile');
    } catch (err) {
      throw new ConfigError(`config ${path}: dependencies.${i}: ${(err as Error).message}`);
    }
    delete d.caFile;
  }
  return {
    ...cfg,
    path,
    ...(cfg.ociCaFile ? { ociCaFile: resolve(base, cfg.ociCaFile) } : {}),
    ...(cfg.storageDir ? { storageDir: resolve(base, cfg.storageDir) } : {}),
    ...(cfg.dataDir ? { dataDir: resolve(base, cfg.dataDir) } : {}),
  };
}

export async function resolveServeConfig(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SidecarConfig> {
  const file = flags.config ? await loadConfigFile(flags.config) : undefined;
  const storageFlag = flags['storage-dir'] ?? file?.storageDir;
  const cmUrl = flags['chartmuseum-url'] ?? file?.chartmuseumUrl;
  const ociUrl = flags['oci-url'] ?? file?.ociUrl;
  const given = [flags['storage-dir'], flags['chartmuseum-url'], flags['oci-url']].filter(Boolean).length;
  if (given > 1) {
    throw new ConfigError('give one of --storage-dir, --chartmuseum-url or --oci-url, not several');
  }
  const oci =
    ociUrl && !flags['storage-dir'] && !flags['chartmuseum-url']
      ? ociTarget(ociUrl, env, {
          caFile: flags['oci-ca-file'] ?? file?.ociCaFile,
          plainHttp: flags['oci-plain-http'] ?? file?.ociInsecurePlainHttp,
        })
      : undefined;
  try {
    ociSettingsFromEnv(env); // a bad CHARTSYNC_OCI_CA_FILE stops the start, not the first sync
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (!oci && (flags['oci-ca-file'] || flags['oci-plain-http']))
    throw new ConfigError('--oci-ca-file and --oci-plain-http apply to the --oci-url target only');
  const chartmuseum = cmUrl && !oci && !flags['storage-dir'] ? chartmuseumTarget(cmUrl, env) : undefined;
  const storageDir = chartmuseum || oci ? undefined : resolve(storageFlag ?? '.chartsync/storage');
  const dataDir = resolve(
    flags['data-dir'] ??
      file?.dataDir ??
      env.CHARTSYNC_DATA_DIR ??
      (storageDir ? join(storageDir, '.chartsync') : '.chartsync/data'),
  );
  if (storageDir) checkDataDirPlace(storageDir, dataDir);
  const token = flags.token === undefined ? readToken(env) : flagToken(flags.token);
  const policy: UrlPolicy = {
    allowLocal: Boolean(flags['allow-local-git'] ?? file?.allowLocalGit),
    allowInsecure: Boolean(flags['allow-insecure-git'] ?? file?.allowInsecureGit),
    // other registrations' clones are no local repository to register
    privateDirs: storageDir ? [dataDir, storageDir] : [dataDir],
  };
  return {
    port: parsePort(flags.port ?? env.PORT, file?.port),
    ...((flags.host ?? file?.host) ? { host: flags.host ?? file?.host } : {}),
    ...(storageDir ? { storageDir } : {}),
    ...(chartmuseum ? { chartmuseum } : {}),
    ...(oci ? { oci } : {}),
    dataDir,
    ...(token ? { token } : {}),
    policy,
    bodyLimit: bodyLimit(env.SIDECAR_BODY_LIMIT),
    serveCharts: Boolean(storageDir) && (file?.serveCharts ?? true),
    build: buildOptions(file, env),
    maxCheckoutSize: maxCheckoutSize(flags, file, env),
    dependencies: registrations(file, 'dependencies', (raw) => dependencyRegistration(raw)),
    repos: registrations(file, 'repos', (raw) => repoRegistration(raw, policy)),
  };
}

/**
 * Every entry of a config list through the one registration path, before anything listens:
 * the first refusal stops the start, naming the file, the entry and the field.
 */
function registrations<T extends { name: string }>(
  file: FileConfig | undefined,
  list: 'repos' | 'dependencies',
  register: (raw: unknown) => T,
): T[] {
  const out: T[] = [];
  for (const [i, raw] of (file?.[list] ?? []).entries()) {
    const name = (raw as { name?: unknown } | null)?.name;
    const where = `config ${file?.path}: ${list}.${i}${typeof name === 'string' ? ` (${name})` : ''}`;
    let entry: T;
    try {
      entry = register(raw);
    } catch (err) {
      if (err instanceof ApiError) throw new ConfigError(`${where}: ${err.message}`);
      throw err;
    }
    if (out.some((o) => o.name === entry.name))
      throw new ConfigError(`config ${file?.path}: ${list}: "${entry.name}" is listed twice`);
    out.push(entry);
  }
  return out;
}

/** The OCI target: the prefix is validated here so a typo fails at start-up, not at the first sync. */
function ociTarget(
  url: string,
  env: NodeJS.ProcessEnv,
  tls: { caFile?: string | undefined; plainHttp?: boolean | undefined },
): OciTarget {
  try {
    parseOciUrl(url);
  } catch (err) {
    throw new ConfigError(`--oci-url: ${(err as Error).message}`);
  }
  let password = env.OCI_PASSWORD;
  if (password === undefined && env.OCI_PASSWORD_FILE) {
    try {
      password = readFileSync(env.OCI_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(
        `OCI_PASSWORD_FILE ${env.OCI_PASSWORD_FILE}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  }
  let caCerts: string | undefined;
  if (tls.caFile) {
    try {
      caCerts = readCaFile(tls.caFile, '--oci-ca-file');
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  return {
    url: url.replace(/\/+$/, ''),
    ...(env.OCI_USERNAME ? { username: env.OCI_USERNAME } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(caCerts ? { caCerts } : {}),
    ...(tls.plainHttp ? { plainHttp: true } : {}),
  };
}

/** The config file wins over the environment; out-of-range values are refused, not clamped. */
function buildOptions(file: FileConfig | undefined, env: NodeJS.ProcessEnv): SidecarConfig['build'] {
  const seconds = file?.buildTimeoutSeconds ?? envNumber(env, 'CHARTSYNC_BUILD_TIMEOUT', 1e-3, 86_400);
  const threads = file?.buildThreads ?? envNumber(env, 'CHARTSYNC_BUILD_THREADS', 1, 256);
  if (threads !== undefined && !Number.isInteger(threads))
    throw new ConfigError(`CHARTSYNC_BUILD_THREADS must be a whole number, got "${threads}"`);
  return {
    ...(seconds !== undefined ? { timeoutMs: Math.round(seconds * 1000) } : {}),
    ...(threads !== undefined ? { threads } : {}),
  };
}

/** The flag over the config file over the environment; zero, negatives and typos are refused. */
function maxCheckoutSize(flags: ServeFlags, file: FileConfig | undefined, env: NodeJS.ProcessEnv): number {
  const given: [string, string | number | undefined][] = [
    ['--max-checkout-size', flags['max-checkout-size']],
    ['maxCheckoutSize', file?.maxCheckoutSize],
    ['CHARTSYNC_MAX_CHECKOUT_SIZE', env.CHARTSYNC_MAX_CHECKOUT_SIZE || undefined],
  ];
  const [name, value] = given.find(([, v]) => v !== undefined) ?? [];
  if (name === undefined || value === undefined) return DEFAULT_MAX_CHECKOUT_SIZE;
  const bytes = parseSize(String(value));
  if (bytes === undefined)
    throw new ConfigError(
      `${name} must be a size above 0: bytes, or with Ki, Mi, Gi or Ti (e.g. 512Mi, 2Gi), got "${value}"`,
    );
  return bytes;
}

/** Express' spellings (`1mb`, `512kb`): what SIDECAR_BODY_LIMIT has always taken. */
const EXPRESS_SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i;

/**
 * SIDECAR_BODY_LIMIT in bytes. The body parsers read the leading digits of a unit they do not
 * know (`1Mi`, `1m` are 1 byte: every POST is refused 413) and throw a TypeError that names no
 * setting on words (`ten`): checked here, taking express' spellings and the sizes of the other
 * settings (`1Mi`, bytes).
 */
function bodyLimit(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 1024 * 1024;
  const express = EXPRESS_SIZE.exec(text.trim());
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[express?.[2]?.toLowerCase() as 'b'];
  const bytes = express ? Math.floor(Number(express[1]) * unit) : parseSize(text);
  if (bytes === undefined || bytes <= 0)
    throw new ConfigError(
      `SIDECAR_BODY_LIMIT must be a size above 0 (e.g. 1mb, 512kb, 1Mi, bytes), got "${text}"`,
    );
  return bytes;
}

function envNumber(env: NodeJS.ProcessEnv, key: string, min: number, max: number): number | undefined {
  const text = env[key];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(`${key} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}

function chartmuseumTarget(url: string, env: NodeJS.ProcessEnv): ChartMuseumTarget {
  // Checked here, with the rules the publisher applies (url/credentials.ts), so that a bad URL
  // is a usage error naming the flag, and the message never quotes a password.
  if (!/^https?:\/\//i.test(url))
    throw new ConfigError(`--chartmuseum-url must be an http(s) URL, got "${redactUrl(url)}"`);
  try {
    new URL(splitUrlCredentials(url).url);
  } catch (err) {
    const why = err instanceof UrlCredentialsError ? err.message : 'not a valid URL';
    throw new ConfigError(`--chartmuseum-url "${redactUrl(url)}": ${why}`);
  }
  return {
    url,
    ...(env.CHARTMUSEUM_USERNAME ? { username: env.CHARTMUSEUM_USERNAME } : {}),
    ...(env.CHARTMUSEUM_PASSWORD ? { password: env.CHARTMUSEUM_PASSWORD } : {}),
    ...(env.CHARTMUSEUM_TOKEN ? { token: env.CHARTMUSEUM_TOKEN } : {}),
  };
}

/** The token, as @chartsync/api's tokenFromEnv reads it (one behaviour with the operator). */
function readToken(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return tokenFromEnv(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/**
 * Each repo publishes into `<storage>/<repo>/`, and `DELETE /repo/<repo>` removes that directory
 * once no archive is left in it. A data dir that is such a directory (`<storage>/state`), or the
 * storage dir itself (its `clones/`, `state/`, `cache/` are valid repo names), would be written
 * into by a sync and wiped, registrations and all, by a DELETE. A hidden name (`.chartsync`, the
 * default) or a place outside the storage dir is no repo's.
 */
function checkDataDirPlace(storageDir: string, dataDir: string): void {
  // the other way round, `<data>/clones` as storage: repo X would publish into its own clone
  const inData = relative(dataDir, storageDir);
  if (inData !== '' && !inData.startsWith('..') && !isAbsolute(inData))
    throw new ConfigError(
      `the storage dir ${storageDir} is inside the data dir ${dataDir}: give them separate places`,
    );
  const below = relative(storageDir, dataDir);
  if (below.startsWith('..') || isAbsolute(below)) return;
  const first = below.split(sep)[0] ?? '';
  if (below === '' || nameSchema.safeParse(first).success)
    throw new ConfigError(
      `the data dir ${dataDir} ${below === '' ? 'is the storage dir' : `is the directory repo "${first}" would publish into`}: use a hidden directory inside the storage dir (the default ${join(storageDir, '.chartsync')}) or one outside it`,
    );
}

/**
 * `--token "$T"` with T unset is an empty flag: taken as "no token" it would start the sidecar
 * without authentication. Trimmed like the variable and the file (a header never carries the
 * surrounding blanks, so an untrimmed token could never match).
 */
function flagToken(value: string): string {
  const token = value.trim();
  if (!token)
    throw new ConfigError('--token is empty: give the token, or leave the flag out to run without one');
  return token;
}

function parsePort(value: string | undefined, fallback: number | undefined): number {
  if (value === undefined) return fallback ?? 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`--port must be 0-65535, got "${value}"`);
  return port;
}
