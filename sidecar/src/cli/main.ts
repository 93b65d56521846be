/**
 * `chartsync` entry point: a table of sub-commands. Each command parses its own flags and
 * answers `--help`; registering a command is one line in COMMANDS.
 */
import { VERSION } from '../version.js';
import { SERVE_TUNING, tuneProcess } from './process-tuning.js';

type Run = (argv: string[]) => Promise<number>;

export interface Command {
  name: string;
  summary: string;
  /** Loaded on use, so `chartsync package` does not pay for the HTTP server's modules. */
  load: () => Promise<Run>;
}

export const COMMANDS: Command[] = [
  {
    name: 'package',
    summary: 'package chart directories like `helm package`, reproducibly',
    load: async () => (await import('./package-command.js')).packageCommand,
  },
  {
    name: 'index',
    summary: 'write index.yaml for a directory of chart archives',
    load: async () => (await import('./index-command.js')).indexCommand,
  },
  {
    name: 'sync',
    summary: 'sync the charts of one git repository into a storage dir, once',
    load: async () => (await import('./sync.js')).syncCommand,
  },
  {
    name: 'serve',
    summary: 'run the sidecar HTTP service',
    load: async () => (await import('./serve.js')).serveCommand,
  },
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
  // The service runs for days: settings V8 and glibc read only at start (see process-tuning.ts).
  if (command.name === 'serve') tuneProcess(SERVE_TUNING);
  return (await command.load())(rest);
}
