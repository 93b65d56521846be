/** The publishing targets and the factory choosing one from the configuration. */
import type { SidecarConfig } from '../config/config.js';
import { ChartMuseumPublisher } from './chartmuseum.js';
import { LocalPublisher } from './local.js';
import { OciPublisher } from './oci.js';
import type { Publisher } from './publisher.js';

export { type ChartMuseumOptions, ChartMuseumPublisher } from './chartmuseum.js';
export { parseIndex, serializeIndex, withEntry, withoutVersion } from './index-file.js';
export { LocalPublisher } from './local.js';
export { archiveEntryTime, OciPublisher, type OciTargetOptions } from './oci.js';
export * from './publisher.js';

export function createPublisher(
  config: Pick<SidecarConfig, 'storageDir' | 'chartmuseum' | 'oci'> & Partial<Pick<SidecarConfig, 'dataDir'>>,
): Publisher {
  if (config.oci) return new OciPublisher({ ...config.oci, dataDir: config.dataDir ?? '.chartsync/data' });
  if (config.chartmuseum) return new ChartMuseumPublisher(config.chartmuseum);
  if (config.storageDir) return new LocalPublisher(config.storageDir);
  throw new Error('no publishing target: give --storage-dir, --chartmuseum-url or --oci-url');
}
