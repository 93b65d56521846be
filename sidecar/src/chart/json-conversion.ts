/**
 * helm reads Chart.yaml, requirements.yaml, the lock files and values.yaml with
 * sigs.k8s.io/yaml, which turns the YAML into JSON before decoding it, and encoding/json
 * refuses NaN and ±Inf (`json: unsupported value: +Inf`). So a YAML float that is not finite
 * (`.inf`, `-.Inf`, `.nan`...) fails the file wherever it does not land in a Go string field —
 * there the conversion writes it as text first ("+Inf", see formatFloat32): anywhere in
 * values.yaml's first document (map[string]interface{}), under a key the struct does not
 * know, in `import-values` ([]interface{}). A literal too large for a float64 (`1e400`) is no
 * float to go-yaml but a string (yaml.ts), so only those special forms make one.
 */
import type { GoValue } from './yaml.js';

/** Whether the text may hold a non-finite float: go-yaml's `.inf` / `.nan` spellings. */
export function mayHoldNonFinite(text: string): boolean {
  return /\.(?:inf|Inf|INF|nan|NaN|NAN)/.test(text);
}

/**
 * The first NaN or infinity in a decoded value, if any (objects shared through aliases are
 * visited once).
 */
export function nonFiniteIn(value: GoValue, seen = new Set<object>()): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : value;
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    const found = nonFiniteIn(v, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The problem as helm words it: Go's %v of the float (`+Inf`, `-Inf`, `NaN`). */
export function jsonUnsupported(v: number): string {
  const shown = Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  return `error converting YAML to JSON: json: unsupported value: ${shown}`;
}
