/** Runs the real helm client against chart/ and parses what it renders. */
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type HelmResult, sharedHelm } from '../harness/helm.ts';
import { repoRoot } from '../harness/paths.ts';

export const chartDir = join(repoRoot, 'chart');

/** `helm <args>` (never rejects: check `code`), with the harness's isolated helm home. */
export function helm(args: string[], env: Record<string, string> = {}): Promise<HelmResult> {
  return sharedHelm.exec(args, { env });
}

/** `helm <args>` that must succeed; its stdout. */
export function helmOk(args: string[], env: Record<string, string> = {}): Promise<string> {
  return sharedHelm.run(args, { env });
}

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are free-form
export type Obj = Record<string, any>;
export type Manifest = Obj & { kind: string; metadata: Obj & { name: string; namespace?: string } };

/** `--set` flags from a flat object. */
export function setFlags(values: Record<string, string | number | boolean>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
}

/** Renders the chart (`helm template`) and parses every document. */
export async function render(
  values: Record<string, string | number | boolean> = {},
  extra: string[] = [],
): Promise<Manifest[]> {
  const out = await helmOk([
    'template',
    'rel',
    chartDir,
    '--namespace',
    'charts',
    ...setFlags(values),
    ...extra,
  ]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => !!m && typeof m === 'object' && !!m.kind);
}

export function find(ms: Manifest[], kind: string, name?: string): Manifest | undefined {
  return ms.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
}

export function get(ms: Manifest[], kind: string, name?: string): Manifest {
  const m = find(ms, kind, name);
  if (!m) {
    const have = ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ');
    throw new Error(`no ${kind}${name ? ` ${name}` : ''} rendered; have: ${have}`);
  }
  return m;
}

/** Every container (init and regular) of a workload's pod template, with the pod spec. */
export function containersOf(m: Manifest): Obj[] {
  const pod = m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec;
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

export function envOf(container: unknown): Record<string, { value?: string; valueFrom?: unknown }> {
  const env = ((container as { env?: { name: string; value?: string; valueFrom?: unknown }[] }).env ??
    []) as {
    name: string;
    value?: string;
    valueFrom?: unknown;
  }[];
  return Object.fromEntries(env.map((e) => [e.name, e]));
}
