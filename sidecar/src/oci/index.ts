/** OCI registries: references, the registry client, and Helm charts as OCI artifacts (like `helm push`/`pull`). */
export { chartArtifact, pullChart, pushChart, rfc3339Seconds } from './chart.js';
export { OciClient, OciError } from './client.js';
export { chartRepository, type OciRepository, parseOciUrl } from './reference.js';
