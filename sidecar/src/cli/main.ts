export async function main(argv: string[]): Promise<number> {
  process.stdout.write(`chartsync ${argv.join(' ')}\n`);
  return 0;
}
