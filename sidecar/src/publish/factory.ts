/** Chooses the publishing target from the configuration. */
import type { SidecarConfig } from '../config/config.js';
import { ChartMuseumPublisher } from './chartmuseum.js';
import { LocalPublisher } from './local.js';
import type { Publisher } from './publisher.js';

export async function createPublisher(
  config: Pick<SidecarConfig, 'storageDir' | 'chartmuseum' | 'oci'> & Partial<Pick<SidecarConfig, 'dataDir'>>,
): Promise<Publisher> {
  if (config.oci) {
    // Loaded only for this target: the OCI client's HTTP stack costs the sidecar ~13 MB.
    const { OciPublisher } = await import('./oci.js');
    return new OciPublisher({ ...config.oci, dataDir: config.dataDir ?? '.chartsync/data' });
  }
  if (config.chartmuseum) return new ChartMuseumPublisher(config.chartmuseum);
  if (config.storageDir) return new LocalPublisher(config.storageDir);
  throw new Error('no publishing target: give --storage-dir, --chartmuseum-url or --oci-url');
}
