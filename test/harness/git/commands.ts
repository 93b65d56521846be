/** The git commands a checkout ran, from the sidecar's debug log ("git command done" lines). */

/** Each logged command's name (`clone`, `fetch`...: its first word that is not a flag), in log order. */
export function loggedGitCommands(records: readonly Record<string, unknown>[]): string[] {
  return records
    .filter((r) => r.msg === 'git command done')
    .map(
      (r) =>
        String(r.git)
          .split(' ')
          .find((w) => !w.startsWith('-')) ?? '',
    );
}
