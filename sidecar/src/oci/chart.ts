/**
 * Helm charts as OCI artifacts, exactly as helm's registry client writes and reads them: a
 * manifest whose config is the chart's metadata as JSON (Go's encoding of helm's
 * `chart.Metadata`), whose layers are the chart archive (and its provenance file when there is
 * one, layers sorted by digest), annotated with the OCI image annotations helm derives from
 * Chart.yaml. Pulling accepts what helm accepts (the legacy layer type too) and verifies each
 * blob by digest.
 */

import { GoStruct, goJsonMarshal } from '../chart/dependencies/go-json.js';
import { dependencyStruct } from '../chart/dependencies/lock.js';
import type { ChartMetadata } from '../chart/model.js';
import {
  assertDigest,
  type Descriptor,
  MEDIA_OCI_MANIFEST,
  type OciClient,
  OciError,
  sha256Digest,
} from './client.js';
import type { OciRepository } from './reference.js';

export const HELM_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
export const HELM_LEGACY_CHART_MEDIA_TYPE = 'application/tar+gzip';
export const HELM_PROV_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.provenance.v1.prov';
/** Same bound as for chart archives from http repositories (helm's loader bound). */
export const MAX_CHART_BLOB_BYTES = 100 * 1024 * 1024;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** helm's `chart.Metadata` as Go's json.Marshal writes it (field order and omitempty). */
export function helmConfigJson(md: ChartMetadata): Buffer {
  const maintainers = Array.isArray(md.maintainers)
    ? (md.maintainers as Record<string, unknown>[]).map(
        (m) =>
          new GoStruct([
            { key: 'name', value: str(m?.name), omitEmpty: true },
            { key: 'email', value: str(m?.email), omitEmpty: true },
            { key: 'url', value: str(m?.url), omitEmpty: true },
          ]),
      )
    : undefined;
  const annotations = md.annotations && typeof md.annotations === 'object' ? md.annotations : undefined;
  const struct = new GoStruct([
    { key: 'name', value: str(md.name), omitEmpty: true },
    { key: 'home', value: str(md.home), omitEmpty: true },
    { key: 'sources', value: md.sources, omitEmpty: true },
    { key: 'version', value: str(md.version), omitEmpty: true },
    { key: 'description', value: str(md.description), omitEmpty: true },
    { key: 'keywords', value: md.keywords, omitEmpty: true },
    { key: 'maintainers', value: maintainers, omitEmpty: true },
    { key: 'icon', value: str(md.icon), omitEmpty: true },
    { key: 'apiVersion', value: str(md.apiVersion), omitEmpty: true },
    { key: 'condition', value: str(md.condition), omitEmpty: true },
    { key: 'tags', value: str(md.tags), omitEmpty: true },
    { key: 'appVersion', value: str(md.appVersion), omitEmpty: true },
    { key: 'deprecated', value: md.deprecated === true, omitEmpty: true },
    {
      key: 'annotations',
      value: annotations && Object.keys(annotations).length ? annotations : undefined,
      omitEmpty: true,
    },
    { key: 'kubeVersion', value: str(md.kubeVersion), omitEmpty: true },
    { key: 'dependencies', value: md.dependencies?.map(dependencyStruct), omitEmpty: true },
    { key: 'type', value: str(md.type), omitEmpty: true },
  ]);
  return Buffer.from(goJsonMarshal(struct));
}

/** The OCI annotations helm's push derives from the metadata; `created` is RFC 3339 in seconds. */
export function helmAnnotations(md: ChartMetadata, created: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: string, v: unknown) => {
    if (typeof v === 'string' && v !== '') out[k] = v;
  };
  add('org.opencontainers.image.description', md.description);
  add('org.opencontainers.image.title', md.name);
  add('org.opencontainers.image.version', md.version);
  add('org.opencontainers.image.url', md.home);
  add('org.opencontainers.image.created', created);
  if (Array.isArray(md.sources) && md.sources.length > 0)
    add('org.opencontainers.image.source', md.sources[0]);
  if (Array.isArray(md.maintainers) && md.maintainers.length > 0) {
    const authors = (md.maintainers as Record<string, unknown>[])
      .map((m) => `${str(m?.name) ?? ''}${str(m?.email) ? ` (${m.email})` : ''}`)
      .join(', ');
    add('org.opencontainers.image.authors', authors);
  }
  const immutable = new Set(['org.opencontainers.image.version', 'org.opencontainers.image.title']);
  const chartAnnotations = (md.annotations ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(chartAnnotations))
    if (!immutable.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** Go's time.Format(time.RFC3339) of a UTC time: seconds, `Z`. */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

const descriptor = (mediaType: string, data: Buffer) =>
  new GoStruct([
    { key: 'mediaType', value: mediaType },
    { key: 'digest', value: sha256Digest(data) },
    { key: 'size', value: data.length },
  ]);

export interface ChartArtifact {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  blobs: Buffer[];
}

/** The manifest, config and layers `helm push` would send for this archive. */
export function chartArtifact(
  archive: Buffer,
  md: ChartMetadata,
  created: string,
  prov?: Buffer,
): ChartArtifact {
  const config = helmConfigJson(md);
  const layers = [{ media: HELM_CHART_MEDIA_TYPE, data: archive }];
  if (prov) layers.push({ media: HELM_PROV_MEDIA_TYPE, data: prov });
  // helm sorts the layers by digest, "for determinism, similar to how ORAS v1 does it".
  layers.sort((a, b) => (sha256Digest(a.data) < sha256Digest(b.data) ? -1 : 1));
  const manifest = Buffer.from(
    goJsonMarshal(
      new GoStruct([
        { key: 'schemaVersion', value: 2 },
        { key: 'config', value: descriptor(HELM_CONFIG_MEDIA_TYPE, config) },
        { key: 'layers', value: layers.map((l) => descriptor(l.media, l.data)) },
        { key: 'annotations', value: helmAnnotations(md, created), omitEmpty: true },
      ]),
    ),
  );
  return { manifest, digest: sha256Digest(manifest), config, blobs: [config, ...layers.map((l) => l.data)] };
}

/** Pushes a chart artifact: blobs first (skipping those present), then the manifest under the tag. */
export async function pushChart(
  client: OciClient,
  repo: OciRepository,
  tag: string,
  artifact: ChartArtifact,
): Promise<string> {
  for (const blob of artifact.blobs) await client.pushBlob(repo, blob);
  return client.putManifest(repo, tag, artifact.manifest, MEDIA_OCI_MANIFEST);
}

export interface PulledChart {
  data: Buffer;
  manifestDigest: string;
  chartDigest: string;
  /** Taken from `fromCache` rather than downloaded. */
  cached: boolean;
}

/**
 * The chart layer at `reference` (a tag or digest), checked like helm's Pull; `fromCache` may
 * supply the layer by its digest (it must verify the bytes) instead of a download.
 */
export async function pullChart(
  client: OciClient,
  repo: OciRepository,
  reference: string,
  where: string,
  fromCache?: (digest: string) => Promise<Buffer | undefined>,
): Promise<PulledChart> {
  const found = await client.manifest(repo, reference);
  if (!found) throw new OciError('notFound', `${where}: tag ${reference} not found`, 404);
  const { manifest } = found;
  const config = [manifest.config, ...manifest.layers].find((d) => d.mediaType === HELM_CONFIG_MEDIA_TYPE);
  if (!config)
    throw new OciError(
      'invalid',
      `${where}:${reference}: not a Helm chart (no config of media type ${HELM_CONFIG_MEDIA_TYPE})`,
    );
  if (config.size > MAX_CONFIG_BYTES)
    throw new OciError(
      'limit',
      `${where}:${reference}: chart config of ${config.size} bytes exceeds the ${MAX_CONFIG_BYTES}-byte limit`,
    );
  const layer: Descriptor | undefined =
    manifest.layers.find((d) => d.mediaType === HELM_CHART_MEDIA_TYPE) ??
    manifest.layers.find((d) => d.mediaType === HELM_LEGACY_CHART_MEDIA_TYPE);
  if (!layer)
    throw new OciError(
      'invalid',
      `${where}:${reference}: the manifest has no layer of media type ${HELM_CHART_MEDIA_TYPE}`,
    );
  assertDigest(layer.digest, `${where}:${reference}: chart layer`);
  const cached = await fromCache?.(layer.digest);
  if (cached) return { data: cached, manifestDigest: found.digest, chartDigest: layer.digest, cached: true };
  const data = await client.blob(repo, layer, MAX_CHART_BLOB_BYTES);
  return { data, manifestDigest: found.digest, chartDigest: layer.digest, cached: false };
}
