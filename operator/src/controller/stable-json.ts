/**
 * JSON with object keys in a fixed order (arrays keep theirs; undefined members are dropped, as
 * JSON.stringify does): two values that are equal as data give the same text, whatever order
 * their keys were built or returned in. Used to compare what the operator wants with what the
 * API server has (status fields, the owned fields of a CronJob).
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
