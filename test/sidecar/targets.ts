/**
 * The two publishing targets as the suites use them: the sidecar's local storage dir served by
 * its own `/charts/` routes, and the ChartMuseum API (the stand-in server, see
 * test/harness/chartmuseum-api.ts). Each gives the sidecar flags, the helm repository URL and a
 * way to list what is stored.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ChartMuseumApi } from '../harness/chartmuseum-api.ts';

export type TargetKind = 'local' | 'chartmuseum';

export interface Target {
  kind: TargetKind;
  /** Where the sidecar keeps registrations, state and clones. */
  dataDir: string;
  /** `chartsync serve` flags selecting this target. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The Helm repository URL of `repo` (sidecarUrl: where the sidecar listens). */
  helmUrl(sidecarUrl: string, repo: string): string;
  helmAuth?: { username: string; password: string };
  /** Archive file names stored for `repo` (empty when the repo is gone). */
  stored(repo: string): Promise<string[]>;
  chartmuseum?: ChartMuseumApi;
  stop(): Promise<void>;
}

export async function startTarget(kind: TargetKind, dir: string): Promise<Target> {
  const storage = join(dir, 'storage');
  const stored = async (repo: string) =>
    (await readdir(join(storage, repo)).catch(() => [] as string[])).filter((f) => f.endsWith('.tgz')).sort();
  if (kind === 'local') {
    return {
      kind,
      args: ['--storage-dir', storage],
      dataDir: join(storage, '.chartsync'),
      env: {},
      helmUrl: (sidecarUrl, repo) => `${sidecarUrl}/charts/${repo}`,
      stored,
      stop: async () => undefined,
    };
  }
  const auth = { username: 'museum', password: 's3cret-museum' };
  const cm = await new ChartMuseumApi({ root: storage, ...auth }).start();
  return {
    kind,
    args: ['--chartmuseum-url', cm.url, '--data-dir', join(dir, 'data')],
    dataDir: join(dir, 'data'),
    env: { CHARTMUSEUM_USERNAME: auth.username, CHARTMUSEUM_PASSWORD: auth.password },
    helmUrl: (_sidecarUrl, repo) => `${cm.url}/${repo}`,
    helmAuth: auth,
    stored,
    chartmuseum: cm,
    stop: () => cm.stop(),
  };
}
