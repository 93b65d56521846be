/**
 * Stable machine reasons: every error body and every failed chart in a sync result carries one.
 * Clients (the operator, scripts) branch on these, never on message text. The table in
 * docs/reasons.md lists them with their meaning; keep both in step.
 */
export const REASONS = [
  // input
  'InvalidInput',
  'Unauthorized',
  'Forbidden',
  'NotFound',
  'PayloadTooLarge',
  'RepoBusy',
  // git
  'GitAuthFailed',
  'GitUnreachable',
  'RefNotFound',
  'CheckoutTooLarge',
  'GitFailed',
  // charts
  'InvalidChart',
  'ChartTooLarge',
  'BuildTimeout',
  'NameCollision',
  'PathEscapesCheckout',
  'DependencyUnresolved',
  'VersionConflict',
  // publishing
  'PublishFailed',
  'StorageFull',
  // service
  'ShuttingDown',
  'Internal',
] as const;

export type Reason = (typeof REASONS)[number];

export function isReason(value: unknown): value is Reason {
  return typeof value === 'string' && (REASONS as readonly string[]).includes(value);
}
