/**
 * Where a credential can sit in a log record of the sidecar or the operator: the wire fields that
 * carry secrets (a registration's `password`, `sshKey`, `knownHosts`, a `token`, an `auth` block)
 * up to three levels deep, and a request's credential headers. Both components hand this one
 * list to pino's `redact`, so a stray object logged by mistake never shows a secret in either.
 */
const SECRET_FIELDS = ['password', 'sshKey', 'knownHosts', 'token', 'auth'] as const;

export const SECRET_LOG_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  'req.headers.authorization',
  'req.headers.cookie',
];
