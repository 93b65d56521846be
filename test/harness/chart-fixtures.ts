/**
 * Helpers to write test charts: file trees (with symlinks and empty directories), Chart.yaml
 * text, a realistic application chart, and raw (possibly hostile) tar.gz archives.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

/** A file's content, a symlink, or an empty directory. */
export type TreeEntry = string | Buffer | { symlink: string } | { dir: true };
export type FileTree = Record<string, TreeEntry>;

export async function writeTree(root: string, tree: FileTree): Promise<void> {
  for (const [rel, entry] of Object.entries(tree)) {
    const path = join(root, rel);
    if (typeof entry === 'object' && 'dir' in entry) {
      await mkdir(path, { recursive: true });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    if (typeof entry === 'object' && 'symlink' in entry) await symlink(entry.symlink, path);
    else await writeFile(path, entry);
  }
}

/**
 * writeTree for paths that need not be UTF-8: each character of a key is one byte (latin1), so
 * `'templates/\xff.txt'` names a file whose name holds the byte 0xff. String contents are
 * written as UTF-8 (give a Buffer for other bytes).
 */
export function writeByteTree(root: string, tree: Record<string, string | Buffer>): void {
  for (const [rel, data] of Object.entries(tree)) {
    const path = Buffer.concat([Buffer.from(`${root}/`), Buffer.from(rel, 'latin1')]);
    mkdirSync(path.subarray(0, path.lastIndexOf(0x2f)), { recursive: true });
    writeFileSync(path, data);
  }
}

/** Chart.yaml text from fields (values written verbatim, so tests control YAML typing). */
export function chartYaml(fields: Record<string, string>): string {
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
}

const HELPERS = `{{- define "app.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          ports:
            - containerPort: {{ .Values.service.port }}
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
spec:
  ports:
    - port: {{ .Values.service.port }}
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
`;

/** A small but realistic application chart. */
export function appChart(name: string, version = '1.0.0', extra: FileTree = {}): FileTree {
  return {
    'Chart.yaml': chartYaml({
      apiVersion: 'v2',
      name,
      version,
      appVersion: '"1.0"',
      description: `The ${name} app`,
    }),
    'values.yaml': 'replicaCount: 1\nimage:\n  repository: nginx\n  tag: ""\nservice:\n  port: 80\n',
    'templates/_helpers.tpl': HELPERS,
    'templates/deployment.yaml': DEPLOYMENT,
    'templates/service.yaml': SERVICE,
    ...extra,
  };
}

/** A library chart: only named templates. */
export function libraryChart(name: string, version = '1.0.0'): FileTree {
  return {
    'Chart.yaml': chartYaml({ apiVersion: 'v2', name, version, type: 'library' }),
    'templates/_names.tpl': `{{- define "${name}.name" -}}{{ .Chart.Name }}{{- end -}}\n`,
  };
}

export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  data?: Buffer | string;
  linkpath?: string;
  /** Overrides the size written in the header. */
  size?: number;
}

/** A gzipped tar written entry by entry, without any path sanitising: for hostile archives. */
export function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const header = Buffer.alloc(512);
    new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: e.size ?? (e.type === 'File' || e.type === undefined ? data.length : 0),
      mode: 0o644,
      mtime: new Date(0),
      linkpath: e.linkpath ?? '',
    }).encode(header, 0);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
