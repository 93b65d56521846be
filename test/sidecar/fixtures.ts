/** Chart sources for the sidecar suites (the real helm is test/harness/helm.ts). */
import { stringify } from 'yaml';

export interface ChartSpec {
  version?: string;
  dependencies?: { name: string; version: string; repository: string }[];
  /** Value of the ConfigMap's `greeting`, to make a content change visible in `helm template`. */
  greeting?: string;
}

/** Files of a small valid chart under `dir/`: Chart.yaml, values.yaml, one template. */
export function chartFiles(dir: string, name: string, spec: ChartSpec = {}): Record<string, string> {
  const chart = {
    apiVersion: 'v2',
    name,
    version: spec.version ?? '1.0.0',
    description: `The ${name} chart`,
    type: 'application',
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
  };
  return {
    [`${dir}/Chart.yaml`]: stringify(chart),
    [`${dir}/values.yaml`]: `greeting: ${JSON.stringify(spec.greeting ?? `hello from ${name}`)}\n`,
    [`${dir}/templates/configmap.yaml`]: [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-{{ .Chart.Name }}',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  version: {{ .Chart.Version | quote }}',
      '',
    ].join('\n'),
  };
}
