/**
 * Registrations (dependency repositories and git repositories, with their credentials) and the
 * last sync result of each repo, persisted as one JSON file written atomically (mode 0600: it
 * holds credentials). Views handed to the API never contain the secrets.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DependencyView, ErrorBody, RepoView, SyncResult } from '@chartsync/api';
import { dependencyKey } from '../chart/dependencies/scope.js';
import type { DependencyRepository } from '../chart/model.js';
import type { GitAuth } from '../git/index.js';
import { scheduleOf } from '../standalone/schedule.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { redactUrl } from '../url/credentials.js';

export interface RepoRecord {
  name: string;
  git: string;
  ref?: string;
  paths?: string[];
  prune: boolean;
  auth?: GitAuth;
  schedule?: string;
  everyMinutes?: number;
  lastSync?: SyncResult & { at: string; error?: ErrorBody };
}

interface RegistryFile {
  version: 1;
  /**
   * Keyed by (scope, name) as dependencyKey spells it: `name` for a shared registration (the
   * key older versions wrote, so their files load as shared), `repo/name` for a scoped one.
   */
  dependencies: Record<string, DependencyRepository>;
  repos: Record<string, RepoRecord>;
}

export class RegistryStore {
  private readonly file: string;
  private data: RegistryFile = { version: 1, dependencies: {}, repos: {} };
  /** Changes waiting for the next write, and whether a write is under way. */
  private waiting: Array<{
    edit: (data: RegistryFile) => void;
    resolve: () => void;
    reject: (err: unknown) => void;
  }> = [];
  private flushing = false;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'registry.json');
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let parsed: RegistryFile;
    try {
      parsed = JSON.parse(text) as RegistryFile;
    } catch (err) {
      throw new Error(`registry file ${this.file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new Error(`registry file ${this.file} does not hold a JSON object`);
    this.data = {
      version: 1,
      dependencies: checkedSection(
        this.file,
        'dependencies',
        parsed.dependencies,
        'url',
        undefined,
        keyOfDependency,
      ),
      repos: checkedSection(this.file, 'repos', parsed.repos, 'git', checkSchedule),
    };
  }

  /** Every registration, shared and scoped, by name then scope (shared first). */
  dependencies(): DependencyRepository[] {
    return Object.values(this.data.dependencies).sort(
      (a, b) => a.name.localeCompare(b.name) || (a.repo ?? '').localeCompare(b.repo ?? ''),
    );
  }
  /** Upserts the registration of (dep.repo or shared, dep.name). */
  async putDependency(dep: DependencyRepository): Promise<void> {
    await this.change((d) => {
      d.dependencies[dependencyKey(dep)] = dep;
    });
  }
  /** Removes (repo or shared, name); false when there was nothing to remove. */
  async removeDependency(name: string, repo?: string): Promise<boolean> {
    const key = dependencyKey({ name, ...(repo === undefined ? {} : { repo }) });
    if (!own(this.data.dependencies, key)) return false;
    await this.change((d) => {
      delete d.dependencies[key];
    });
    return true;
  }

  repo(name: string): RepoRecord | undefined {
    return own(this.data.repos, name);
  }
  repos(): RepoRecord[] {
    return Object.values(this.data.repos).sort((a, b) => a.name.localeCompare(b.name));
  }
  async putRepo(repo: RepoRecord): Promise<void> {
    await this.change((d) => {
      d.repos[repo.name] = repo;
    });
  }
  /** Removes the repo and, in the same write, the dependency repositories scoped to it. */
  async removeRepo(name: string): Promise<boolean> {
    if (!own(this.data.repos, name)) return false;
    await this.change((d) => {
      delete d.repos[name];
      for (const [key, dep] of Object.entries(d.dependencies))
        if (dep.repo === name) delete d.dependencies[key];
    });
    return true;
  }

  /**
   * Applies `edit` to a copy, writes the copy, and only then makes it current: what an answer
   * reported as failed (the disk full, say) is neither kept in memory nor written later by
   * another change. Changes are serialised, each on top of the last one that was written; the
   * changes that arrive while a write is under way go together into the next write (one file
   * write and fsync for many registrations: a thousand repositories registering or finishing
   * their syncs at once would otherwise queue a thousand whole-file writes behind each other).
   * A failed write fails every change it carried.
   */
  private change(edit: (data: RegistryFile) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ edit, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.waiting.length) {
      const batch = this.waiting.splice(0);
      const copy: RegistryFile = {
        version: 1,
        dependencies: { ...this.data.dependencies },
        repos: { ...this.data.repos },
      };
      for (const c of batch) c.edit(copy);
      try {
        await writeFileAtomic(this.file, serialize(copy), 0o600);
      } catch (err) {
        const failure = new StoreError(
          `could not save the registrations in ${this.file}: ${(err as Error).message}`,
          { cause: err },
        );
        for (const c of batch) c.reject(failure);
        continue;
      }
      this.data = copy;
      for (const c of batch) c.resolve();
    }
    this.flushing = false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * One section of a registry file read back, every record checked for what the service relies
 * on (its name, under its own key, and where it comes from). A hand-edited or damaged file is
 * refused at start-up naming the file and the record, instead of starting and then failing
 * every `GET /repo` (or the start itself) with a TypeError.
 */
function checkedSection<T>(
  file: string,
  section: string,
  value: unknown,
  source: 'git' | 'url',
  more?: (record: Record<string, unknown>) => void,
  keyOf: (record: Record<string, unknown>) => unknown = (record) => record.name,
): Record<string, T> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new Error(`registry file ${file}: "${section}" is not an object`);
  for (const [key, record] of Object.entries(value)) {
    const where = `registry file ${file}: ${section}.${JSON.stringify(key)}`;
    if (!isObject(record)) throw new Error(`${where} is not an object`);
    if (keyOf(record) !== key)
      throw new Error(`${where} has the name ${JSON.stringify(record.name)}, not its key`);
    if (typeof record[source] !== 'string') throw new Error(`${where} has no "${source}" URL`);
    try {
      more?.(record);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
  return value as Record<string, T>;
}

/** A stored dependency's key: its (scope, name); a record of older versions has no scope. */
function keyOfDependency(record: Record<string, unknown>): unknown {
  const { name, repo } = record;
  if (typeof name !== 'string' || (repo !== undefined && typeof repo !== 'string')) return undefined;
  return dependencyKey({ name, ...(repo === undefined ? {} : { repo }) });
}

/** A stored schedule is started with the sidecar: one it cannot run must not stop it unnamed. */
function checkSchedule(record: Record<string, unknown>): void {
  const { schedule, everyMinutes } = record;
  if (schedule !== undefined && typeof schedule !== 'string') throw new Error('schedule is not a string');
  if (everyMinutes !== undefined && typeof everyMinutes !== 'number')
    throw new Error('everyMinutes is not a number');
  scheduleOf({ ...(schedule ? { schedule } : {}), ...(everyMinutes ? { everyMinutes } : {}) });
}

/**
 * The record registered under `name`, never a property every object inherits: "constructor" is
 * a valid DNS-1123 name, and `repos["constructor"]` is Object's constructor function, which the
 * service would take for a registration (GET answers it, an update records a nameless result
 * that breaks `GET /repo` and every later start).
 */
function own<T>(records: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(records, name) ? records[name] : undefined;
}

/** The registrations could not be written (e.g. the data dir is full): nothing changed. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export function dependencyView(dep: DependencyRepository): DependencyView {
  return {
    name: dep.name,
    ...(dep.repo ? { repo: dep.repo } : {}),
    // registrations are stored split; redacted again for those written by older versions
    url: redactUrl(dep.url),
    ...(dep.mirrorOf ? { mirrorOf: dep.mirrorOf } : {}),
    hasCredentials: Boolean(dep.username || dep.password),
    ...(dep.caData ? { hasCaData: true } : {}),
    ...(dep.insecurePlainHttp ? { insecurePlainHttp: true } : {}),
  };
}

export function repoView(repo: RepoRecord, syncing: boolean): RepoView {
  return {
    name: repo.name,
    git: redactUrl(repo.git),
    ...(repo.ref ? { ref: repo.ref } : {}),
    ...(repo.paths ? { paths: repo.paths } : {}),
    prune: repo.prune,
    hasCredentials: Boolean(repo.auth),
    ...(repo.lastSync ? { lastSync: repo.lastSync } : {}),
    syncing,
  };
}

/**
 * The file's text, one record per line. Each record's JSON is kept while the record is current
 * (records are replaced, never changed in place): a thousand repos registering and finishing
 * their syncs one after another would otherwise encode the whole registry again for each of
 * those two thousand writes.
 */
function serialize(file: RegistryFile): string {
  const section = (records: Record<string, object>): string => {
    const lines = Object.entries(records).map(
      ([name, record]) => `    ${JSON.stringify(name)}: ${encoded(record)}`,
    );
    return lines.length ? `{\n${lines.join(',\n')}\n  }` : '{}';
  };
  return `{\n  "version": ${file.version},\n  "dependencies": ${section(file.dependencies)},\n  "repos": ${section(file.repos)}\n}\n`;
}

const encodings = new WeakMap<object, string>();

function encoded(record: object): string {
  let json = encodings.get(record);
  if (json === undefined) {
    json = JSON.stringify(record);
    encodings.set(record, json);
  }
  return json;
}
