/**
 * `chartsync` entry point: a table of sub-commands. Each command parses its own flags and
 * answers `--help`; registering a command is one line in COMMANDS.
 */
import { VERSION } from '../version.js';
import { indexCommand } from './index-command.js';
import { packageCommand } from './package-command.js';
import { serveCommand } from './serve.js';
import { syncCommand } from './sync.js';

export interface Command {
  name: string;
  summary: string;
  run: (argv: string[]) => Promise<number>;
}

export const COMMANDS: Command[] = [
  {
    name: 'package',
    summary: 'package chart directories like `helm package`, reproducibly',
    run: packageCommand,
  },
  { name: 'index', summary: 'write index.yaml for a directory of chart archives', run: indexCommand },
  {
    name: 'sync',
    summary: 'sync the charts of one git repository into a storage dir, once',
    run: syncCommand,
  },
  { name: 'serve', summary: 'run the sidecar HTTP service', run: serveCommand },
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: chartsync <command> [flags]

Commands:
${lines.join('\n')}

Run \`chartsync <command> --help\` for a command's flags.
`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`chartsync ${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`chartsync: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}
