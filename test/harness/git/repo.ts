/**
 * Bare git repositories with scripted history for tests: write and delete files, commit with a
 * given date, push (also forced), tag, branch. Each repository has a bare side (what servers
 * serve) and a working side (where commits are made).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from './proc.ts';

/** git for fixtures: no user/system config, fixed identity, quiet. */
export function fixtureGit(args: string[], cwd?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const env = {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Fixture',
    GIT_AUTHOR_EMAIL: 'fixture@example.com',
    GIT_COMMITTER_NAME: 'Fixture',
    GIT_COMMITTER_EMAIL: 'fixture@example.com',
    LC_ALL: 'C',
    ...extraEnv,
  };
  return run(
    'git',
    [
      '-c',
      'init.defaultBranch=main',
      '-c',
      'protocol.file.allow=always',
      '-c',
      'advice.detachedHead=false',
      ...args,
    ],
    {
      cwd,
      env,
    },
  );
}

export class FixtureRepo {
  readonly name: string;
  /** The bare repository, `<root>/<name>.git`: what every server serves. */
  readonly bare: string;
  /** A working clone where commits are made before being pushed. */
  readonly work: string;

  constructor(root: string, name: string) {
    this.name = name;
    this.bare = join(root, `${name}.git`);
    this.work = join(root, '.work', name);
  }

  /** Creates the bare repository and its working clone (branch `main`). */
  async init(): Promise<this> {
    await fixtureGit(['init', '-q', '--bare', this.bare]);
    // allow fetching any commit by id over every transport, as hosted servers do
    await fixtureGit(['config', 'uploadpack.allowAnySHA1InWant', 'true'], this.bare);
    await mkdir(this.work, { recursive: true });
    await fixtureGit(['init', '-q', this.work]);
    await fixtureGit(['remote', 'add', 'origin', this.bare], this.work);
    return this;
  }

  async write(files: Record<string, string | Buffer>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.work, path);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }

  async remove(paths: string[]): Promise<void> {
    for (const p of paths) await rm(join(this.work, p), { recursive: true, force: true });
  }

  /** Commits everything in the working side; returns the commit id. */
  async commit(message: string, date = new Date('2024-01-02T03:04:05Z')): Promise<string> {
    const when = `${Math.floor(date.getTime() / 1000)} +0000`;
    await fixtureGit(['add', '-A'], this.work);
    await fixtureGit(['commit', '-q', '--allow-empty', '-m', message], this.work, {
      GIT_AUTHOR_DATE: when,
      GIT_COMMITTER_DATE: when,
    });
    return this.head();
  }

  async head(rev = 'HEAD'): Promise<string> {
    return (await fixtureGit(['rev-parse', rev], this.work)).trim();
  }

  /** Pushes the current branch (or `refspec`) to the bare side. */
  async push(o: { force?: boolean; refspec?: string } = {}): Promise<void> {
    await fixtureGit(
      ['push', '-q', ...(o.force ? ['--force'] : []), 'origin', o.refspec ?? 'HEAD:refs/heads/main'],
      this.work,
    );
  }

  async tag(name: string, o: { annotated?: boolean; rev?: string } = {}): Promise<void> {
    const args = o.annotated ? ['tag', '-a', '-m', name, name] : ['tag', name];
    await fixtureGit([...args, o.rev ?? 'HEAD'], this.work);
    await fixtureGit(['push', '-q', '--force', 'origin', `refs/tags/${name}`], this.work);
  }

  /** Rewrites history: the working side goes back to `rev` (a later push must be forced). */
  async resetTo(rev: string): Promise<void> {
    await fixtureGit(['reset', '-q', '--hard', rev], this.work);
  }

  async checkoutBranch(name: string, o: { create?: boolean } = {}): Promise<void> {
    await fixtureGit(['checkout', '-q', ...(o.create ? ['-b'] : []), name], this.work);
  }

  /**
   * Adds a submodule entry pointing at `url` (written into .gitmodules and the index). It is
   * cloned from `cloneFrom` when given (e.g. a local path, when `url` needs credentials).
   */
  async addSubmodule(path: string, url: string, o: { cloneFrom?: string } = {}): Promise<void> {
    await fixtureGit(['submodule', 'add', '-q', '--', o.cloneFrom ?? url, path], this.work);
    if (o.cloneFrom) {
      await fixtureGit(['config', '-f', '.gitmodules', `submodule.${path}.url`, url], this.work);
      await fixtureGit(['add', '.gitmodules'], this.work);
    }
  }
}

/** A directory of bare repositories (the base path every server exports). */
export class RepoRoot {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  /** A new repository with one commit of `files` pushed to `main`. */
  async create(
    name: string,
    files: Record<string, string | Buffer> = { 'README.md': `# ${name}\n` },
  ): Promise<FixtureRepo> {
    const repo = await new FixtureRepo(this.path, name).init();
    await repo.write(files);
    await repo.commit('initial');
    await repo.push();
    return repo;
  }
}
