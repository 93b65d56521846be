/**
 * Byte sizes as people write them in flags, config files and environment variables (`512Mi`,
 * `2Gi`, plain bytes), and as messages show them.
 */

const UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/**
 * A positive size: plain bytes or a number with a binary unit (Ki, Mi, Gi, Ti; a trailing `B`
 * is allowed). Undefined for anything else, zero and negatives included: the caller names the
 * setting in its refusal.
 */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti)?B?$/.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** `bytes` in the largest binary unit it reaches, to one decimal (`1.5 GiB`, `512 MiB`, `300 bytes`). */
export function formatSize(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki']) {
    const size = UNITS[unit] ?? 1;
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}B`;
  }
  return `${bytes} bytes`;
}
