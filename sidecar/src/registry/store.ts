/**
 * Registrations (dependency repositories and git repositories, with their credentials) and the
 * last sync result of each repo, persisted as one JSON file written atomically (mode 0600: it
 * holds credentials). Views handed to the API never contain the secrets.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DependencyView, ErrorBody, RepoView, SyncResult } from '@chartsync/api';
import type { DependencyRepository } from '../chart/model.js';
import type { GitAuth } from '../git/index.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

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
  dependencies: Record<string, DependencyRepository>;
  repos: Record<string, RepoRecord>;
}

export class RegistryStore {
  private readonly file: string;
  private data: RegistryFile = { version: 1, dependencies: {}, repos: {} };
  /** Writes are chained so that the file always ends up holding the latest state. */
  private writing: Promise<void> = Promise.resolve();

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
    this.data = { version: 1, dependencies: parsed.dependencies ?? {}, repos: parsed.repos ?? {} };
  }

  dependencies(): DependencyRepository[] {
    return Object.values(this.data.dependencies).sort((a, b) => a.name.localeCompare(b.name));
  }
  async putDependency(dep: DependencyRepository): Promise<void> {
    this.data.dependencies[dep.name] = dep;
    await this.persist();
  }
  /** Returns false when there was nothing to remove. */
  async removeDependency(name: string): Promise<boolean> {
    if (!this.data.dependencies[name]) return false;
    delete this.data.dependencies[name];
    await this.persist();
    return true;
  }

  repo(name: string): RepoRecord | undefined {
    return this.data.repos[name];
  }
  repos(): RepoRecord[] {
    return Object.values(this.data.repos).sort((a, b) => a.name.localeCompare(b.name));
  }
  async putRepo(repo: RepoRecord): Promise<void> {
    this.data.repos[repo.name] = repo;
    await this.persist();
  }
  async removeRepo(name: string): Promise<boolean> {
    if (!this.data.repos[name]) return false;
    delete this.data.repos[name];
    await this.persist();
    return true;
  }

  private persist(): Promise<void> {
    const snapshot = JSON.stringify(this.data, null, 2);
    this.writing = this.writing
      .catch(() => undefined)
      .then(() => writeFileAtomic(this.file, snapshot, 0o600));
    return this.writing;
  }
}

export function dependencyView(dep: DependencyRepository): DependencyView {
  return {
    name: dep.name,
    url: dep.url,
    ...(dep.mirrorOf ? { mirrorOf: dep.mirrorOf } : {}),
    hasCredentials: Boolean(dep.username || dep.password),
  };
}

export function repoView(repo: RepoRecord, syncing: boolean): RepoView {
  return {
    name: repo.name,
    git: repo.git,
    ...(repo.ref ? { ref: repo.ref } : {}),
    ...(repo.paths ? { paths: repo.paths } : {}),
    prune: repo.prune,
    hasCredentials: Boolean(repo.auth),
    ...(repo.lastSync ? { lastSync: repo.lastSync } : {}),
    syncing,
  };
}
