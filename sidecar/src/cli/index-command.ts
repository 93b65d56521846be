/** `chartsync index <dir> [--url BASE_URL]`: writes index.yaml like `helm repo index`. */
import { resolve } from 'node:path';
import { indexDirectory, writeIndexFile } from '../chart/index.js';
import { fail, parseCommandArgs } from './args.js';

export const INDEX_USAGE = `Usage: chartsync index <dir> [--url BASE_URL]

Writes <dir>/index.yaml for the chart archives (*.tgz) in <dir> and its direct
subdirectories, as \`helm repo index\` does: entries newest-first by SemVer, with urls,
digest and created.

  --url BASE_URL   prefix for the archive URLs (default: relative URLs)
  -h, --help       show this help
`;

const OPTIONS = {
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function indexCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, OPTIONS, INDEX_USAGE);
  if (!args) return 2;
  if (args.values.help) {
    process.stdout.write(INDEX_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) return fail('index needs exactly one directory (see --help)');
  const dir = resolve(args.positionals[0] as string);
  try {
    const baseUrl = args.values.url as string | undefined;
    const index = await indexDirectory(dir, baseUrl ? { baseUrl } : {});
    const written = await writeIndexFile(dir, index);
    const count = Object.values(index.entries).reduce((n, list) => n + list.length, 0);
    process.stdout.write(`${written}: ${count} chart version(s)\n`);
    return 0;
  } catch (err) {
    return fail(`index ${dir}: ${(err as Error).message}`);
  }
}
