{{/* Chart name, truncated to a DNS-1123 label. */}}
{{- define "chartmuseum.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix: <release>-<chart> unless the release name already holds the chart name. */}}
{{- define "chartmuseum.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the operator's objects. */}}
{{- define "chartmuseum.operator.fullname" -}}
{{- printf "%s-operator" (include "chartmuseum.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* Name of the operator's cluster-scoped objects: unique per release namespace too. */}}
{{- define "chartmuseum.operator.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "chartmuseum.operator.fullname" .) }}
{{- end }}

{{- define "chartmuseum.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "chartmuseum.labels" -}}
helm.sh/chart: {{ include "chartmuseum.chart" . }}
app.kubernetes.io/name: {{ include "chartmuseum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the ChartMuseum pods (ChartMuseum + sidecar). */}}
{{- define "chartmuseum.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chartmuseum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: chartmuseum
{{- end }}

{{/* Selector labels of the operator pods. */}}
{{- define "chartmuseum.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chartmuseum.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* ServiceAccount of the ChartMuseum pod. */}}
{{- define "chartmuseum.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "chartmuseum.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ServiceAccount of the operator. */}}
{{- define "chartmuseum.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "chartmuseum.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding the sidecar token (key `token`). */}}
{{- define "chartmuseum.tokenSecretName" -}}
{{- default (printf "%s-sidecar-token" (include "chartmuseum.fullname" . | trunc 50 | trimSuffix "-")) .Values.token.existingSecret }}
{{- end }}

{{/* "<repository>:<tag>" of an image dict; the tag defaults to the chart's appVersion. */}}
{{- define "chartmuseum.image" -}}
{{- $img := index . 0 }}{{- $ctx := index . 1 }}
{{- printf "%s:%s" $img.repository (toString (default $ctx.Chart.AppVersion $img.tag)) }}
{{- end }}

{{/* "true" when ChartMuseum stores charts in a cloud backend (anything but local disk). */}}
{{- define "chartmuseum.cloudStorage" -}}
{{- if ne (toString (default "local" .Values.env.open.STORAGE)) "local" }}true{{ end }}
{{- end }}

{{/* ChartMuseum's CONTEXT_PATH ("" or "/path", no trailing slash): it prefixes every route. */}}
{{- define "chartmuseum.contextPath" -}}
{{- with .Values.env.open.CONTEXT_PATH }}{{ printf "/%s" (toString . | trimAll "/") }}{{ end }}
{{- end }}

{{/* In-cluster DNS base of the Service. */}}
{{- define "chartmuseum.serviceHost" -}}
{{- printf "%s.%s.svc" (include "chartmuseum.fullname" .) .Release.Namespace }}
{{- end }}

{{/* URL of the sidecar API as the operator and the sync CronJobs reach it. */}}
{{- define "chartmuseum.sidecarUrl" -}}
{{- printf "http://%s:%d" (include "chartmuseum.serviceHost" .) (int .Values.service.syncPort) }}
{{- end }}

{{/* Public base URL of ChartMuseum (status.url of Chartmuseum resources). */}}
{{- define "chartmuseum.publicUrl" -}}
{{- if .Values.operator.chartmuseumUrl }}
{{- .Values.operator.chartmuseumUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $h := first .Values.ingress.hosts }}
{{- printf "%s://%s%s" (ternary "https" "http" (default false $h.tls)) $h.name (default "/" $h.path | trimSuffix "/") }}
{{- else }}
{{- printf "http://%s:%d%s" (include "chartmuseum.serviceHost" .) (int .Values.service.externalPort) (include "chartmuseum.contextPath" .) }}
{{- end }}
{{- end }}

{{/* Pod security context (values' `enabled` switch left out). */}}
{{- define "chartmuseum.podSecurityContext" -}}
{{- if .enabled -}}
securityContext:
  {{- toYaml (omit . "enabled") | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container security context shared by every container of the chart. */}}
{{- define "chartmuseum.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end }}

{{/* An emptyDir for /tmp: every root filesystem is read-only. */}}
{{- define "chartmuseum.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{/*
ChartMuseum's plain environment: env.open without null values, plus what the sidecar layout
needs: DEPTH=1 with the operator (one repository per Chartmuseum resource), the local root
directory on the storage volume, and the upload API on when the sidecar publishes through it.
*/}}
{{- define "chartmuseum.openEnv" -}}
{{- $env := dict }}
{{- range $k, $v := .Values.env.open }}
{{- if not (kindIs "invalid" $v) }}{{ $_ := set $env $k (toString $v) }}{{ end }}
{{- end }}
{{- if not (include "chartmuseum.cloudStorage" .) }}
{{- $_ := set $env "STORAGE" "local" }}
{{- $_ := set $env "STORAGE_LOCAL_ROOTDIR" .Values.persistence.path }}
{{- end }}
{{- if .Values.operator.enabled }}
{{- if and (hasKey $env "DEPTH") (ne (get $env "DEPTH") "1") }}
{{- fail (printf "env.open.DEPTH must be 1 (or unset) with operator.enabled=true: the sidecar publishes one repository per Chartmuseum resource at <repo>/index.yaml; got %s" (get $env "DEPTH")) }}
{{- end }}
{{- $_ := set $env "DEPTH" "1" }}
{{- if include "chartmuseum.cloudStorage" . }}
{{- $_ := set $env "DISABLE_API" "false" }}
{{- end }}
{{- end }}
{{- range $k := keys $env | sortAlpha }}
- name: {{ $k }}
  value: {{ get $env $k | quote }}
{{- end }}
{{- end }}

{{/* Name of the Secret with ChartMuseum's secret environment (env.secret or env.existingSecret). */}}
{{- define "chartmuseum.envSecretName" -}}
{{- default (include "chartmuseum.fullname" .) .Values.env.existingSecret }}
{{- end }}

{{/* Secret environment variable name -> key in the Secret. */}}
{{- define "chartmuseum.secretEnvKeys" -}}
{{- $keys := dict }}
{{- if .Values.env.existingSecret }}
{{- range $k, $v := .Values.env.existingSecretMappings }}{{ if $v }}{{ $_ := set $keys $k $v }}{{ end }}{{ end }}
{{- else }}
{{- range $k, $v := .Values.env.secret }}{{ if not (kindIs "invalid" $v) }}{{ $_ := set $keys $k $k }}{{ end }}{{ end }}
{{- end }}
{{- toJson $keys }}
{{- end }}

{{/* One env entry read from ChartMuseum's secret: list (ctx) (env name) (secret key). */}}
{{- define "chartmuseum.secretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "chartmuseum.envSecretName" (index . 0) }}
      key: {{ index . 2 }}
{{- end }}

{{/* The Secret volume with the sidecar token (file `token`, owner and group readable). */}}
{{- define "chartmuseum.tokenVolume" -}}
- name: sidecar-token
  secret:
    secretName: {{ include "chartmuseum.tokenSecretName" . }}
    defaultMode: 288 # 0440: owner and group (fsGroup) only
    items:
      - key: token
        path: token
{{- end }}

{{/* Where the token file is mounted; SIDECAR_TOKEN_FILE points into it. */}}
{{- define "chartmuseum.tokenMount" -}}
- name: sidecar-token
  mountPath: /var/run/secrets/chartsync
  readOnly: true
{{- end }}

{{- define "chartmuseum.tokenFileEnv" -}}
- name: SIDECAR_TOKEN_FILE
  value: /var/run/secrets/chartsync/token
{{- end }}

{{/* HTTP liveness and readiness probes: dict "ctx" $ "port" <name> "live" <path> "ready" <path>. */}}
{{- define "chartmuseum.probes" -}}
livenessProbe:
  httpGet:
    path: {{ .live }}
    port: {{ .port }}
  {{- toYaml .ctx.Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: {{ .ready }}
    port: {{ .port }}
  {{- toYaml .ctx.Values.probes.readiness | nindent 2 }}
{{- end }}
