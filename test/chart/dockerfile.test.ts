/**
 * The sidecar and operator Dockerfiles, without a Docker engine: each instruction is parsed, every
 * build-context COPY source must exist in the workspace (and not be dropped by .dockerignore), and
 * the build stage is replayed in a scratch copy of the workspace (its COPYs as copies, its RUNs as
 * shell commands, /out redirected into the scratch dir). The production tree it deploys must run
 * the image's ENTRYPOINT. The replay uses whatever pnpm store and metadata cache the machine has,
 * so it must pass with both empty (a fresh machine): no step may require `--offline`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  dockerignorePatterns,
  expand,
  ignored,
  parseCopy,
  parseDockerfile,
  replayBuildStage,
  type Stage,
  trackedFiles,
} from '../harness/dockerfile.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';

const run = promisify(execFile);

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

const dockerignore = await dockerignorePatterns();

const images = [
  { pkg: 'sidecar', entry: 'bin/chartsync.js', smoke: ['--help'], needs: ['git', 'openssh-client'] },
  { pkg: 'operator', entry: 'bin/chartsync-operator.js', smoke: null, needs: [] },
] as const;

for (const img of images) {
  describe(`${img.pkg}/Dockerfile`, () => {
    let df: ReturnType<typeof parseDockerfile>;
    let scratch: Awaited<ReturnType<typeof tempDir>>;

    before(async () => {
      df = parseDockerfile(await readFile(join(repoRoot, img.pkg, 'Dockerfile'), 'utf8'));
      scratch = await tempDir(`chartsync-docker-${img.pkg}-`);
    });
    after(async () => {
      await scratch?.cleanup();
    });

    test('multi-stage on Node 24, final stage non-root with an exec-form node ENTRYPOINT', () => {
      assert.ok(df.stages.length >= 2, 'multi-stage');
      for (const s of df.stages) assert.match(s.from, /^node:24(-|$)/, `stage image ${s.from}`);
      const final = df.stages.at(-1) as Stage;
      const user = final.instructions.filter((i) => i.op === 'USER').at(-1);
      assert.ok(user, 'final stage sets USER');
      const uid = user.args.split(':')[0] ?? '';
      assert.ok(uid !== 'root' && uid !== '0' && uid !== '', `USER ${user.args} is not root`);
      assert.match(uid, /^\d+$/, 'numeric uid, so runAsNonRoot can verify it');
      const ep = final.instructions.find((i) => i.op === 'ENTRYPOINT');
      assert.ok(ep, 'ENTRYPOINT');
      assert.deepEqual(JSON.parse(ep.args), ['node', `/app/${img.entry}`]);
      // With the default build arguments (ADD_PACKAGES installs the packages on Alpine).
      const run = expand(
        final.instructions
          .filter((i) => i.op === 'RUN')
          .map((i) => i.args)
          .join(' '),
        df.args,
      );
      for (const pkg of img.needs) assert.match(run, new RegExp(`\\b${pkg}\\b`), `runtime installs ${pkg}`);
      assert.doesNotMatch(run, /\bpnpm\b|\bnpm install\b/, 'no package manager work in the runtime stage');
    });

    test('every build-context COPY source exists in the workspace and survives .dockerignore', async () => {
      const tracked = await trackedFiles();
      let count = 0;
      for (const stage of df.stages) {
        for (const i of stage.instructions.filter((x) => x.op === 'COPY' || x.op === 'ADD')) {
          const c = parseCopy(i.args);
          if (c.from) continue;
          for (const src of c.sources) {
            assert.ok(await exists(join(repoRoot, src)), `COPY source ${src} exists`);
            assert.ok(!ignored(dockerignore, src), `COPY source ${src} is not excluded by .dockerignore`);
            const under = tracked.filter((f) => f === src || f.startsWith(`${src}/`));
            assert.ok(under.length > 0, `COPY source ${src} has files that are not .gitignore'd`);
            assert.ok(
              under.some((f) => !ignored(dockerignore, f)),
              `some of ${src} reaches the build context`,
            );
            count++;
          }
        }
      }
      assert.ok(count >= 5);
      // What the image must not get: dependencies and build output from the host.
      for (const p of [
        `${img.pkg}/node_modules/x`,
        `${img.pkg}/dist/index.js`,
        '.git/HEAD',
        '.tools/bin/helm',
      ]) {
        assert.ok(ignored(dockerignore, p), `.dockerignore drops ${p}`);
      }
    });

    test('the entrypoint exists in the built workspace and is shipped by the package', async () => {
      const pkgDir = join(repoRoot, img.pkg);
      const entry = join(pkgDir, img.entry);
      assert.ok(await exists(entry), `${img.pkg}/${img.entry} exists`);
      const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
        files?: string[];
      };
      assert.ok(
        manifest.files?.includes(img.entry.split('/')[0] ?? ''),
        `package.json files ships ${img.entry}`,
      );
      for (const m of (await readFile(entry, 'utf8')).matchAll(/from '(\.[^']+)'/g)) {
        const target = join(dirname(entry), m[1] ?? '');
        assert.ok(
          await exists(target),
          `${relative(repoRoot, target)} (imported by the entrypoint) is built`,
        );
      }
    });

    test('replaying the build stage yields a production tree that runs the entrypoint', {
      timeout: 300_000,
    }, async (t) => {
      const build = df.stages.find((s) => s.name === 'build');
      assert.ok(build, 'a stage named build');
      const final = df.stages.at(-1) as Stage;
      const deployCopy = final.instructions
        .filter((i) => i.op === 'COPY')
        .map((i) => parseCopy(i.args))
        .find((c) => c.from === 'build');
      assert.deepEqual(deployCopy && { sources: deployCopy.sources, dest: deployCopy.dest }, {
        sources: ['/out'],
        dest: '/app',
      });
      const out = await replayBuildStage(df, scratch.path);
      assert.ok(await exists(join(out, img.entry)), `/out/${img.entry} deployed`);
      // The deploy's re-resolution (injected workspace packages) may read registry metadata, but
      // what the image ships must be what the lockfile pins: every package in the production tree
      // (.pnpm/<name with + for />@<version>[_peers]) is a name@version the repo's lockfile has.
      const lock = parseYaml(await readFile(join(repoRoot, 'pnpm-lock.yaml'), 'utf8')) as {
        packages?: object;
      };
      const pinned = new Set(Object.keys(lock.packages ?? {}));
      const shipped = (await readdir(join(out, 'node_modules/.pnpm')))
        .filter((d) => d !== 'node_modules' && !d.startsWith('lock'))
        .map((d) => d.replace(/_.*$/, '').replace('+', '/'))
        .filter((k) => !k.startsWith('@chartsync/'));
      assert.ok(shipped.length > 3, `production packages found: ${shipped.join(' ')}`);
      assert.deepEqual(
        shipped.filter((k) => !pinned.has(k)),
        [],
        'the image ships only versions the lockfile pins',
      );
      const modules = join(out, 'node_modules');
      const { stdout: leftovers } = await run('find', [
        out,
        '-type',
        'f',
        '(',
        '-name',
        '*.map',
        '-o',
        '-name',
        '*.d.ts',
        ')',
      ]);
      assert.equal(leftovers.trim(), '', 'no source maps or type declarations in the production tree');
      assert.ok(!(await exists(join(modules, 'typescript'))), 'no dev dependencies in the production tree');
      assert.ok(!(await exists(join(modules, '@biomejs'))), 'no dev dependencies in the production tree');
      if (img.pkg === 'sidecar') {
        assert.ok(
          !(await exists(join(modules, '@chartsync/operator'))),
          'the sidecar image carries no operator',
        );
        assert.ok(!(await exists(join(modules, '@kubernetes'))), 'nor the Kubernetes client');
      } else {
        assert.ok(
          await exists(join(modules, '@chartsync/api/dist/client.js')),
          'the API client (@chartsync/api) is injected',
        );
        // The operator depends on @chartsync/api alone: none of the sidecar's runtime comes along.
        for (const pkg of ['@chartsync/sidecar', 'express', 'simple-git', 'tar', 'node-cron']) {
          assert.ok(!(await exists(join(modules, pkg))), `the operator image carries no ${pkg}`);
          assert.ok(!(await exists(join(modules, '.pnpm', 'node_modules', pkg))), `nor ${pkg} in .pnpm`);
        }
      }
      const { stdout: du } = await run('du', ['-sb', out]);
      t.diagnostic(
        `${img.pkg} production tree (/app in the image): ${(Number.parseInt(du, 10) / 1e6).toFixed(1)} MB`,
      );
      if (img.smoke) {
        const r = await run(process.execPath, [join(out, img.entry), ...img.smoke], { cwd: scratch.path });
        assert.match(r.stdout + r.stderr, /chartsync/);
      } else {
        // Loading the entrypoint's module graph proves every production dependency resolves.
        const mainJs = join(out, 'dist/main.js');
        const r = await run(process.execPath, [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(mainJs)}); console.log(typeof m.main);`,
        ]);
        assert.equal(r.stdout.trim(), 'function');
      }
    });
  });
}
