/**
 * The sidecar requests of a Chartmuseum, with credentials read from the Secrets its spec names
 * (same namespace). A missing Secret or key is a spec error naming the Secret and the key.
 * A name that is not a Secret name is refused before any request: it becomes a path segment of
 * the API URL, and "../../<ns>/secrets/<name>" would read a Secret of another namespace with the
 * operator's cluster-wide rights and send it to a git server the tenant chose.
 */
import { createHash } from 'node:crypto';
import type { DependencyRequest, RepoRequest } from '@chartsync/api';
import { isNotFound, type KubeClient, paths } from '../kube/client.js';
import { type Chartmuseum, repoNameOf } from './resource.js';

export class SpecError extends Error {
  override name = 'SpecError';
}

interface Secret {
  data?: Record<string, string>;
}

type SecretReader = (namespace: string, name: string) => Promise<Record<string, string>>;

/** A Secret's name: a DNS-1123 subdomain (what the API server accepts for metadata.name). */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A key of a Secret's data. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function checkName(name: string, field: string): void {
  if (name.length > 253 || !SECRET_NAME.test(name))
    throw new SpecError(`${field}: ${JSON.stringify(name)} is not a Secret name (a DNS-1123 subdomain)`);
}

function checkKey(key: string, field: string): void {
  if (key.length > 253 || !SECRET_KEY.test(key))
    throw new SpecError(
      `${field}: ${JSON.stringify(key)} is not a Secret key (letters, digits, '-', '_', '.')`,
    );
}

export function secretReader(client: KubeClient): SecretReader {
  return async (namespace, name) => {
    try {
      const s = await client.get<Secret>(paths.secret(namespace, name));
      return Object.fromEntries(
        Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (err) {
      if (isNotFound(err)) throw new SpecError(`Secret ${namespace}/${name} not found`);
      throw err;
    }
  };
}

function need(data: Record<string, string>, key: string, where: string): string {
  const v = data[key];
  if (!v) throw new SpecError(`${where}: key "${key}" is missing or empty`);
  return v;
}

export interface SidecarRequests {
  repo: RepoRequest;
  dependencies: DependencyRequest[];
  /** Digest of everything sent (secrets included, never stored): a change means re-register. */
  digest: string;
}

export async function buildRequests(cm: Chartmuseum, read: SecretReader): Promise<SidecarRequests> {
  const ns = cm.metadata.namespace;
  const spec = cm.spec;
  const repo: RepoRequest = { name: repoNameOf(cm), git: spec.git, prune: spec.prune ?? true };
  if (spec.ref) repo.ref = spec.ref;
  if (spec.paths?.length) repo.paths = spec.paths;
  if (spec.secretRef) {
    checkName(spec.secretRef.name, 'spec.secretRef.name');
    const where = `spec.secretRef: Secret ${ns}/${spec.secretRef.name}`;
    const data = await read(ns, spec.secretRef.name);
    if (data['ssh-privatekey']) {
      repo.sshKey = data['ssh-privatekey'];
      if (data.known_hosts) repo.knownHosts = data.known_hosts;
    } else if (data.username !== undefined || data.password !== undefined) {
      repo.username = need(data, 'username', where);
      repo.password = need(data, 'password', where);
    } else {
      throw new SpecError(`${where}: expected keys username+password or ssh-privatekey`);
    }
  }
  const dependencies: DependencyRequest[] = [];
  for (const [i, d] of (spec.dependencies ?? []).entries()) {
    // scoped to this resource's repo: no other tenant's sync sees it (docs/dependencies.md)
    const dep: DependencyRequest = { name: d.name, url: d.url, repo: repo.name };
    if (d.mirrorOf) dep.mirrorOf = d.mirrorOf;
    if (d.secretRef) {
      checkName(d.secretRef.name, `spec.dependencies[${i}].secretRef.name`);
      const where = `spec.dependencies[${i}].secretRef: Secret ${ns}/${d.secretRef.name}`;
      const data = await read(ns, d.secretRef.name);
      dep.username = need(data, 'username', where);
      dep.password = need(data, 'password', where);
    }
    if (d.caSecretRef) {
      checkName(d.caSecretRef.name, `spec.dependencies[${i}].caSecretRef.name`);
      checkKey(d.caSecretRef.key ?? 'ca.crt', `spec.dependencies[${i}].caSecretRef.key`);
      const where = `spec.dependencies[${i}].caSecretRef: Secret ${ns}/${d.caSecretRef.name}`;
      // checked as PEM CA certificates by the sidecar (400 naming caData -> InvalidSpec)
      dep.caData = need(await read(ns, d.caSecretRef.name), d.caSecretRef.key ?? 'ca.crt', where);
    }
    if (d.insecurePlainHttp) dep.insecurePlainHttp = true;
    dependencies.push(dep);
  }
  const digest = createHash('sha256').update(JSON.stringify({ repo, dependencies })).digest('hex');
  return { repo, dependencies, digest };
}
