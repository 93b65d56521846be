/** The publishing targets and the factory choosing one from the configuration. */

export { type ChartMuseumOptions, ChartMuseumPublisher } from './chartmuseum.js';
export { createPublisher } from './factory.js';
export { parseIndex, serializeIndex, withEntry, withoutVersion } from './index-file.js';
export { LocalPublisher } from './local.js';
export { archiveEntryTime, OciPublisher, type OciTargetOptions } from './oci.js';
export * from './publisher.js';
