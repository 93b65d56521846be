/** The publishing targets and the factory choosing one from the configuration. */
import type { SidecarConfig } from '../config/config.js';
import { ChartMuseumPublisher } from './chartmuseum.js';
import { LocalPublisher } from './local.js';
import type { Publisher } from './publisher.js';

export { type ChartMuseumOptions, ChartMuseumPublisher } from './chartmuseum.js';
export { LocalPublisher } from './local.js';
export * from './publisher.js';

export function createPublisher(config: Pick<SidecarConfig, 'storageDir' | 'chartmuseum'>): Publisher {
  if (config.chartmuseum) return new ChartMuseumPublisher(config.chartmuseum);
  if (config.storageDir) return new LocalPublisher(config.storageDir);
  throw new Error('no publishing target: give --storage-dir or --chartmuseum-url');
}
