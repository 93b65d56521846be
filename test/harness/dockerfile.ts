/**
 * The project's Dockerfiles without a Docker engine: parse them (as Docker's parser does for the
 * subset they use), read the build context (the checkout's tracked files minus .dockerignore),
 * and replay a `build` stage in a scratch copy of the workspace on this machine (its COPYs as
 * copies, its RUNs as shell commands, `/out` redirected into the scratch dir). Used by
 * test/chart/dockerfile.test.ts and by the real node's image builder (node-images.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, matchesGlob, relative } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.ts';

const run = promisify(execFile);

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** Global ARGs (before the first FROM) with their defaults, quotes removed. */
  args: Record<string, string>;
  stages: Stage[];
}

/** `KEY=value`, `KEY="a b"` or `KEY` -> [key, value]. */
export function parseAssignment(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  if (eq < 0) return [text.trim(), undefined];
  const raw = text.slice(eq + 1).trim();
  const value = /^"(.*)"$/s.test(raw) || /^'(.*)'$/s.test(raw) ? raw.slice(1, -1) : raw;
  return [text.slice(0, eq).trim(), value];
}

/** `${NAME}` / `$NAME` replaced from `vars` (unknown names become empty, as in Docker). */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => vars[a ?? b ?? ''] ?? '');
}

/** Dockerfile -> stages (continuations joined, comment lines dropped, as Docker's parser does). */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): Dockerfile {
  const logical: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line === '' && cur === '') continue;
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    if (cur.trim()) logical.push(cur.trim());
    cur = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const op = (m[1] ?? '').toUpperCase();
    const rest = m[2] ?? '';
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = parseAssignment(rest);
      args[k] = buildArgs[k] ?? v ?? '';
      continue;
    }
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`bad FROM: ${rest}`);
      stages.push({ from: expand(f[1] ?? '', args), ...(f[2] ? { name: f[2] } : {}), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${op} before FROM`);
    stage.instructions.push({ op, args: rest });
  }
  return { args, stages };
}

export interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  let chown: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (w.startsWith('--chown=')) chown = w.slice('--chown='.length);
    else if (!w.startsWith('--')) rest.push(w);
  }
  const dest = rest.pop() ?? '';
  return { ...(from ? { from } : {}), ...(chown ? { chown } : {}), sources: rest, dest };
}

/** .dockerignore: does it drop `path` (relative to the context)? Later `!` patterns re-include. */
export function ignored(patterns: string[], path: string): boolean {
  const parts = path.split('/');
  let out = false;
  for (const p of patterns) {
    const neg = p.startsWith('!');
    const pat = neg ? p.slice(1) : p;
    // A pattern that matches a parent directory drops everything below it.
    const hit = parts.some((_, i) => matchesGlob(parts.slice(0, i + 1).join('/'), pat));
    if (hit) out = !neg;
  }
  return out;
}

export async function dockerignorePatterns(): Promise<string[]> {
  return (await readFile(join(repoRoot, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The files a build context from this checkout has: tracked or new, minus .gitignore'd ones. */
export async function trackedFiles(): Promise<string[]> {
  const { stdout } = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate'],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.split('\0').filter((f) => f && existsSync(join(repoRoot, f)));
}

/** The build context as Docker sees it: tracked files that .dockerignore keeps. */
export async function buildContext(): Promise<string[]> {
  const patterns = await dockerignorePatterns();
  return (await trackedFiles()).filter((f) => !ignored(patterns, f));
}

/** Copies the context files a COPY names into `root` (the stage's filesystem) at `dest`. */
export async function copyFromContext(
  context: string[],
  c: Copy,
  root: string,
  workdir: string,
): Promise<void> {
  const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
  const dest = c.dest.startsWith('/') ? c.dest : join(workdir, c.dest);
  for (const s of c.sources) {
    for (const f of context.filter((x) => x === s || x.startsWith(`${s}/`))) {
      // Docker: a file source lands in dest/ (or as dest); a directory source copies its contents.
      const target =
        f !== s
          ? join(root, dest, relative(s, f))
          : intoDir
            ? join(root, dest, basename(s))
            : join(root, dest);
      await mkdir(dirname(target), { recursive: true });
      await cp(join(repoRoot, f), target);
    }
  }
}

/**
 * Replays the stage named `build` in `scratch`: WORKDIR must be /src (it becomes `scratch/src`),
 * RUNs run on this machine with `/out` redirected to `scratch/out`. pnpm itself is already on
 * PATH (scripts/env.sh), so only its global install is skipped. Returns the `/out` directory.
 */
export async function replayBuildStage(df: Dockerfile, scratch: string): Promise<string> {
  const build = df.stages.find((s) => s.name === 'build');
  if (!build) throw new Error('no stage named build');
  const context = await buildContext();
  const src = join(scratch, 'src');
  const out = join(scratch, 'out');
  for (const i of build.instructions) {
    if (i.op === 'WORKDIR') {
      if (i.args !== '/src') throw new Error(`the build stage works in /src, not ${i.args}`);
      await mkdir(src, { recursive: true });
    } else if (i.op === 'COPY') {
      await copyFromContext(context, parseCopy(i.args), src, '.');
    } else if (i.op === 'RUN') {
      if (/^npm install --global .*pnpm@/.test(i.args)) continue;
      const cmd = i.args.replaceAll(' /out', ` ${out}`);
      try {
        await run('sh', ['-c', cmd], {
          cwd: src,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, CI: 'true' },
        });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        throw new Error(`RUN ${i.args} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
    } else if (!['ENV', 'ARG', 'LABEL'].includes(i.op)) {
      throw new Error(`unexpected ${i.op} in the build stage`);
    }
  }
  return out;
}
