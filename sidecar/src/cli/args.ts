/** Shared flag parsing for the sub-commands (node:util parseArgs, strict). */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv; on a usage error prints it with the command's usage and returns undefined. */
export function parseCommandArgs<T extends Options>(
  argv: string[],
  options: T,
  usage: string,
): { values: Record<string, unknown>; positionals: string[] } | undefined {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as Record<string, unknown>, positionals };
  } catch (err) {
    process.stderr.write(`chartsync: ${(err as Error).message}\n\n${usage}`);
    return undefined;
  }
}

export function fail(message: string): number {
  process.stderr.write(`chartsync: ${message}\n`);
  return 1;
}
