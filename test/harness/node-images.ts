/**
 * Images for the real node, built here without a Docker engine and without pulling anything:
 *
 * - a base root filesystem assembled from this machine's own files: the Node 24 binary the tests
 *   run on, git (+ its http transport), the OpenSSH client, CA certificates, busybox-static as the
 *   shell, and every shared library they load (their `ldd` closure);
 * - sidecar/Dockerfile and operator/Dockerfile built on it with `NODE_IMAGE` (and for the sidecar
 *   `ADD_PACKAGES=true`, the base has the packages): the build stage replayed on this machine
 *   (harness/dockerfile.ts), the runtime stage's instructions applied to the base (RUN in a chroot,
 *   COPY, ENV, WORKDIR, USER, ENTRYPOINT, CMD);
 * - ChartMuseum's API stand-in (its real image cannot be built here: its source is not on the
 *   module proxy) on the sidecar's filesystem, which has the stand-in's dependencies;
 * - the sync CronJobs' HTTP client: this machine's curl (+ closure) and busybox sh;
 * - the pause image: a static C program.
 *
 * Each is written as an OCI image archive (one uncompressed layer) named with
 * `io.containerd.image.name`, ready for `ctr images import`, and cached in
 * ~/.cache/chartsync/images under a key of everything that went into it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  buildContext,
  expand,
  parseAssignment,
  parseCopy,
  parseDockerfile,
  replayBuildStage,
} from './dockerfile.ts';
import { repoRoot, tempDir } from './paths.ts';

const run = promisify(execFile);

export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
}

export interface BuiltImage {
  ref: string;
  /** OCI image archive for `ctr images import`. */
  archive: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const cacheDir = join(
  process.env.CHARTSYNC_TOOLS_CACHE
    ? dirname(process.env.CHARTSYNC_TOOLS_CACHE)
    : join(homedir(), '.cache/chartsync'),
  'images',
);

/** The shared libraries (and the loader) an ELF file loads, by `ldd`. */
async function libraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]).catch(() => ({ stdout: '' })); // static: none
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** Copies host files into `root` at the same paths (content, not symlinks), with their libraries. */
async function installHostFiles(root: string, files: Array<string | [string, string]>): Promise<void> {
  const seen = new Set<string>();
  for (const f of files) {
    const [src, dest] = typeof f === 'string' ? [f, f] : f;
    await mkdir(dirname(join(root, dest)), { recursive: true });
    await copyFile(src, join(root, dest));
    const st = await stat(src);
    await chmod(join(root, dest), st.mode & 0o7777);
    for (const lib of await libraries(src)) {
      if (seen.has(lib)) continue;
      seen.add(lib);
      await mkdir(dirname(join(root, lib)), { recursive: true });
      await copyFile(lib, join(root, lib));
      await chmod(join(root, lib), 0o755);
    }
  }
}

/** busybox-static as /bin/sh and its applets (coreutils for RUN steps and scripts). */
async function installBusybox(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const { stdout } = await run('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'busybox') continue;
    await symlink('busybox', join(root, 'bin', applet)).catch(() => undefined);
  }
}

async function baseSkeleton(root: string, users: string): Promise<void> {
  for (const d of ['etc', 'tmp', 'root', 'home/node', 'usr/local/bin', 'var/tmp']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await run('chown', ['1000:1000', join(root, 'home/node')]);
  await writeFile(join(root, 'etc/passwd'), users);
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\ncurl_group:x:101:\nnogroup:x:65534:\n');
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  await mkdir(join(root, 'etc/ssl/certs'), { recursive: true });
  await copyFile('/etc/ssl/certs/ca-certificates.crt', join(root, 'etc/ssl/certs/ca-certificates.crt'));
  await installBusybox(root);
}

const USERS =
  'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' +
  'curl_user:x:100:101::/tmp:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n';

/** The Node base: what `node:24-alpine` + apk's git, openssh-client, ca-certificates give. */
async function nodeBase(root: string): Promise<void> {
  await baseSkeleton(root, USERS);
  const gitCore = (await run('git', ['--exec-path'])).stdout.trim();
  await installHostFiles(root, [
    [process.execPath, '/usr/local/bin/node'],
    '/usr/bin/git',
    [`${gitCore}/git-remote-http`, `${gitCore}/git-remote-http`],
    [`${gitCore}/git-remote-http`, `${gitCore}/git-remote-https`],
    '/usr/bin/ssh',
  ]);
}

/** Hash of files and strings: the cache key of an image. */
async function keyOf(parts: Array<string | { file: string }>): Promise<string> {
  const h = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s:${p}\0`);
    // The path relative to the repository: clean clones elsewhere share the cache.
    else h.update(`f:${relative(repoRoot, p.file)}\0`).update(await readFile(p.file));
  }
  return h.digest('hex').slice(0, 16);
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** One-layer OCI image archive of `root` named `ref` (containerd reads io.containerd.image.name). */
export async function writeOciArchive(
  root: string,
  config: ImageConfig,
  ref: string,
  archive: string,
): Promise<void> {
  const layout = `${archive}.layout`;
  await rm(layout, { recursive: true, force: true });
  const blobs = join(layout, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const blob = async (path: string): Promise<{ digest: string; size: number }> => {
    const digest = await sha256File(path);
    await rename(path, join(blobs, digest.slice('sha256:'.length)));
    return { digest, size: (await stat(join(blobs, digest.slice('sha256:'.length)))).size };
  };
  const layerTmp = join(layout, 'layer.tar');
  await run('tar', ['--numeric-owner', '--sort=name', '--mtime=@0', '-C', root, '-cf', layerTmp, '.']);
  const layer = await blob(layerTmp);
  const configTmp = join(layout, 'config.json');
  await writeFile(
    configTmp,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: [`PATH=${PATH}`], ...config },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [{ created_by: 'chartsync test/harness/node-images.ts' }],
    }),
  );
  const cfg = await blob(configTmp);
  const manifestTmp = join(layout, 'manifest.json');
  await writeFile(
    manifestTmp,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    }),
  );
  const manifest = await blob(manifestTmp);
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: {
            'io.containerd.image.name': ref,
            'org.opencontainers.image.ref.name': ref.slice(ref.lastIndexOf(':') + 1),
          },
        },
      ],
    }),
  );
  await run('tar', ['-C', layout, '-cf', `${archive}.tmp`, 'oci-layout', 'index.json', 'blobs']);
  await rename(`${archive}.tmp`, archive);
  await rm(layout, { recursive: true, force: true });
}

/**
 * Applies a Dockerfile's final stage to `root` (a copy of the base): RUN in a chroot with the
 * stage's ARG/ENV, COPY --from=build out of the replayed build stage, the rest into the config.
 */
async function applyFinalStage(
  root: string,
  instructions: Array<{ op: string; args: string }>,
  vars: Record<string, string>,
  buildOut: string,
): Promise<ImageConfig> {
  const env: Record<string, string> = { PATH };
  const args: Record<string, string> = {};
  const config: ImageConfig = {};
  let workdir = '/';
  for (const i of instructions) {
    const scope = { ...vars, ...args, ...env };
    if (i.op === 'ARG') {
      const [k, v] = parseAssignment(i.args);
      args[k] = v ?? vars[k] ?? '';
    } else if (i.op === 'ENV') {
      const [k, v] = parseAssignment(i.args);
      env[k] = expand(v ?? '', scope);
    } else if (i.op === 'WORKDIR') {
      workdir = expand(i.args, scope);
      await mkdir(join(root, workdir), { recursive: true });
    } else if (i.op === 'RUN') {
      // Shell form, as Docker runs it: /bin/sh -c in the image, ARGs and ENVs in the environment;
      // a /dev/null while it runs (the container runtime provides /dev later).
      await mkdir(join(root, 'dev'), { recursive: true });
      await run('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
      try {
        await run('chroot', [root, '/bin/sh', '-c', `cd ${workdir} && ${i.args}`], {
          env: { ...args, ...env },
          maxBuffer: 16 * 1024 * 1024,
        }).catch((err: { stderr?: string }) => {
          throw new Error(`RUN ${i.args} failed: ${err.stderr ?? err}`);
        });
      } finally {
        await rm(join(root, 'dev/null'));
      }
    } else if (i.op === 'COPY') {
      const c = parseCopy(i.args);
      if (c.from !== 'build' || c.sources.join() !== '/out') throw new Error(`unsupported COPY ${i.args}`);
      const dest = join(root, c.dest);
      await cp(buildOut, dest, { recursive: true, verbatimSymlinks: true });
      if (c.chown) await run('chown', ['-R', '-h', c.chown, dest]);
    } else if (i.op === 'USER') config.User = expand(i.args, scope);
    else if (i.op === 'EXPOSE') config.ExposedPorts = { ...config.ExposedPorts, [`${i.args}/tcp`]: {} };
    else if (i.op === 'ENTRYPOINT') config.Entrypoint = JSON.parse(i.args) as string[];
    else if (i.op === 'CMD') config.Cmd = JSON.parse(i.args) as string[];
    else if (i.op !== 'LABEL') throw new Error(`unsupported ${i.op} in the final stage`);
  }
  config.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  config.WorkingDir = workdir;
  return config;
}

export interface NodeImages {
  sidecar: BuiltImage;
  operator: BuiltImage;
  chartmuseum: BuiltImage;
  curl: BuiltImage;
  pause: BuiltImage;
}

const chartVersion = async (): Promise<string> =>
  /^appVersion:\s*"?([^"\s]+)"?/m.exec(await readFile(join(repoRoot, 'chart/Chart.yaml'), 'utf8'))?.[1] ?? '';

/** Builds (or takes from the cache) every image the chart needs on the real node. */
export async function buildNodeImages(log: (msg: string) => void = () => undefined): Promise<NodeImages> {
  await mkdir(cacheDir, { recursive: true });
  const appVersion = await chartVersion();
  const hostKey = [
    process.version,
    (await run('git', ['--version'])).stdout,
    (await run('ssh', ['-V'])).stderr,
  ];
  const context = await buildContext();
  // What a Dockerfile's build reads: the Dockerfile and the context files its COPYs name.
  const inputsOf = async (pkg: string) => {
    const dockerfile = join(repoRoot, pkg, 'Dockerfile');
    const sources = parseDockerfile(await readFile(dockerfile, 'utf8'))
      .stages.flatMap((st) => st.instructions)
      .filter((i) => i.op === 'COPY')
      .map((i) => parseCopy(i.args))
      .filter((c) => !c.from)
      .flatMap((c) => c.sources);
    const files = context.filter((f) => sources.some((src) => f === src || f.startsWith(`${src}/`)));
    return [{ file: dockerfile }, ...files.map((f) => ({ file: join(repoRoot, f) }))];
  };
  const standIn = ['test/harness/chartmuseum-api.ts', 'test/harness/chartmuseum-main.ts'].map((f) => ({
    file: join(repoRoot, f),
  }));
  const sidecarKey = await keyOf([...hostKey, ...(await inputsOf('sidecar'))]);
  const operatorKey = await keyOf([...hostKey, ...(await inputsOf('operator'))]);
  const cmKey = await keyOf([sidecarKey, ...standIn]);
  const curlKey = await keyOf([(await run('curl', ['--version'])).stdout]);
  const pauseKey = await keyOf([PAUSE_C]);
  const images: NodeImages = {
    sidecar: {
      ref: `ghcr.io/chartsync/sidecar:${appVersion}`,
      archive: join(cacheDir, `sidecar-${sidecarKey}.tar`),
    },
    operator: {
      ref: `ghcr.io/chartsync/operator:${appVersion}`,
      archive: join(cacheDir, `operator-${operatorKey}.tar`),
    },
    chartmuseum: {
      ref: `chartsync.test/chartmuseum-api-standin:${cmKey}`,
      archive: join(cacheDir, `chartmuseum-${cmKey}.tar`),
    },
    curl: { ref: `chartsync.test/curl:${curlKey}`, archive: join(cacheDir, `curl-${curlKey}.tar`) },
    pause: { ref: `chartsync.test/pause:${pauseKey}`, archive: join(cacheDir, `pause-${pauseKey}.tar`) },
  };
  const have = async (img: BuiltImage) =>
    stat(img.archive).then(
      () => true,
      () => false,
    );
  const work = await tempDir('chartsync-images-');
  try {
    for (const name of ['sidecar', 'operator'] as const) {
      const needStandIn = name === 'sidecar' && !(await have(images.chartmuseum));
      if ((await have(images[name])) && !needStandIn) continue;
      const started = Date.now();
      const dir = join(work.path, name);
      const df = parseDockerfile(await readFile(join(repoRoot, name, 'Dockerfile'), 'utf8'), {
        NODE_IMAGE: 'chartsync-node-base',
        ADD_PACKAGES: 'true',
      });
      const out = await replayBuildStage(df, dir);
      const root = join(dir, 'rootfs');
      await nodeBase(root);
      const final = df.stages.at(-1);
      if (final?.from !== 'chartsync-node-base')
        throw new Error(`${name}/Dockerfile: final stage not on NODE_IMAGE`);
      const config = await applyFinalStage(root, final.instructions, df.args, out);
      await writeOciArchive(root, config, images[name].ref, images[name].archive);
      if (needStandIn) await standInImage(root, config, images.chartmuseum);
      log(
        `built ${images[name].ref} from ${name}/Dockerfile in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    if (!(await have(images.curl))) {
      const root = join(work.path, 'curl');
      await baseSkeleton(root, USERS);
      await installHostFiles(root, ['/usr/bin/curl']);
      await writeOciArchive(
        root,
        { User: '100:101', Entrypoint: ['/usr/bin/curl'] },
        images.curl.ref,
        images.curl.archive,
      );
    }
    if (!(await have(images.pause))) {
      const root = join(work.path, 'pause');
      await mkdir(root, { recursive: true });
      await writeFile(join(work.path, 'pause.c'), PAUSE_C);
      await run('gcc', ['-static', '-Os', '-s', '-o', join(root, 'pause'), join(work.path, 'pause.c')]);
      await writeOciArchive(
        root,
        { Entrypoint: ['/pause'], User: '65535:65535' },
        images.pause.ref,
        images.pause.archive,
      );
    }
  } finally {
    await work.cleanup();
  }
  await pruneImageCache(cacheDir, Object.values(images));
  return images;
}

/** Archives kept per image name besides the one in use: other clones may be running their tests. */
export const IMAGE_CACHE_KEEP = 2;

/**
 * Marks `inUse` as just used and deletes, per image name (the archive name up to its key), all
 * but the IMAGE_CACHE_KEEP most recently used others. Every change to the sidecar or operator
 * makes a new ~200 MB archive: unpruned, weeks of work filled the disk until the kubelet evicted
 * every pod for DiskPressure.
 */
export async function pruneImageCache(dir: string, inUse: BuiltImage[]): Promise<string[]> {
  const now = new Date();
  for (const img of inUse) await utimes(img.archive, now, now).catch(() => undefined);
  const keep = new Set(inUse.map((img) => basename(img.archive)));
  const byName = new Map<string, Array<{ file: string; used: number }>>();
  for (const file of await readdir(dir)) {
    const m = /^(.+)-[0-9a-f]{16}\.tar$/.exec(file);
    if (!m || keep.has(file)) continue;
    const used = (await stat(join(dir, file)).catch(() => undefined))?.mtimeMs;
    if (used === undefined) continue;
    byName.set(m[1] as string, [...(byName.get(m[1] as string) ?? []), { file, used }]);
  }
  const removed: string[] = [];
  for (const others of byName.values())
    for (const { file } of others.sort((a, b) => b.used - a.used).slice(IMAGE_CACHE_KEEP)) {
      await rm(join(dir, file), { force: true });
      removed.push(file);
    }
  return removed.sort();
}

/**
 * ChartMuseum's API stand-in on the sidecar image's filesystem (node and the stand-in's
 * dependencies, tar and yaml, are in /app/node_modules), run as ChartMuseum's image is:
 * `--port=8080` and ChartMuseum's environment variables.
 */
async function standInImage(sidecarRoot: string, sidecarConfig: ImageConfig, img: BuiltImage): Promise<void> {
  const dir = join(sidecarRoot, 'app/chartmuseum');
  await mkdir(dir, { recursive: true });
  for (const f of ['chartmuseum-api.ts', 'chartmuseum-main.ts']) {
    await copyFile(join(repoRoot, 'test/harness', f), join(dir, f));
  }
  await writeOciArchive(
    sidecarRoot,
    {
      Env: sidecarConfig.Env ?? [],
      User: '1000:1000',
      WorkingDir: '/app/chartmuseum',
      Entrypoint: ['node', '/app/chartmuseum/chartmuseum-main.ts'],
      ExposedPorts: { '8080/tcp': {} },
    },
    img.ref,
    img.archive,
  );
  await rm(dir, { recursive: true });
}

/** The sandbox ("pause") process: sleeps until told to stop, reaps orphans (shared PID namespace). */
const PAUSE_C = `#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;
