/**
 * Helm 4 (.tools/bin/helm4, built by scripts/tools.sh helm4; test/scripts/run-tests.mjs builds
 * it for every test file whose imports reach this module), run like helm 3 through the same
 * Helm class with its own isolated home. The OCI tests compare chartsync with both majors.
 */
import { join } from 'node:path';
import { Helm } from './helm.ts';
import { toolsBin } from './paths.ts';

export const helm4Bin = join(toolsBin, 'helm4');

/** helm 3 and helm 4, each with its own home under `home`, labelled for assertion messages. */
export function bothHelms(home: string): { label: string; helm: Helm }[] {
  return [
    { label: 'helm 3', helm: new Helm(join(home, 'helm3')) },
    { label: 'helm 4', helm: new Helm(join(home, 'helm4'), helm4Bin) },
  ];
}
