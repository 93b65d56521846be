/**
 * Input schemas of the HTTP API and the standalone config. Bodies arrive as JSON or as HTML
 * forms (the original PoC sent forms), so booleans, numbers and lists also accept their form
 * spellings: `prune=false`, `everyMinutes=15`, repeated `paths=a&paths=b` or `paths=a,b`.
 */
import { posix } from 'node:path';
import { z } from 'zod';

/** Kubernetes names: DNS-1123 labels. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** "is required" only when absent: a number or a list there is not a missing field. */
const requiredString = (iss: { input: unknown }) =>
  iss.input === undefined
    ? 'is required'
    : `must be a string, not ${Array.isArray(iss.input) ? 'a list' : typeof iss.input}`;

export const nameSchema = z
  .string({ error: requiredString })
  .max(63, 'must be at most 63 characters')
  .regex(
    DNS1123_LABEL,
    'must be a DNS-1123 label (lower-case letters, digits and "-", starting and ending alphanumeric)',
  );

/** `dependency` names the dependency routes (`/repo/dependency`), so no git repo can use it. */
export const repoNameSchema = nameSchema.refine((n) => n !== 'dependency', 'is reserved ("dependency")');

/** An OCI registry prefix as helm names it: `oci://host[:port][/path]`, no credentials or query. */
const OCI_URL =
  /^oci:\/\/[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/?$/;

/** A dependency repository: an http(s) chart repository or an `oci://` registry prefix. */
const repositoryUrl = z
  .string()
  .max(4096)
  .refine(
    (u) => (/^https?:\/\//i.test(u) && URL.canParse(u)) || OCI_URL.test(u),
    'must be an http(s) URL or an oci://host[:port]/path prefix (lowercase path, no credentials)',
  );

const formBoolean = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
    if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
    return v;
  },
  z.boolean({ error: 'must be true or false' }),
);

const formInt = z.preprocess(
  // decimal only: Number() also reads "0x3c" (60), "1e1" (10) and "0b11" as numbers
  (v) => (typeof v === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
  z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive'),
);

/** A directory inside the repository: relative, forward slashes, never escaping the checkout. */
const repoPath = z
  .string()
  .min(1, 'must not be empty')
  // PATH_MAX: a longer one names no directory, and fails every sync (quoted in full in its error)
  .max(4096, 'must be at most 4096 characters')
  .refine((p) => !posix.isAbsolute(p) && !p.includes('\\'), 'must be a relative path with "/" separators')
  .refine((p) => !posix.normalize(p).split('/').includes('..'), 'must not leave the repository ("..")')
  .refine((p) => ![...p].some((ch) => ch.charCodeAt(0) < 0x20), 'must not contain control characters')
  .transform((p) => posix.normalize(p).replace(/\/+$/, '') || '.');

const pathList = z.preprocess(
  (v) => {
    if (typeof v === 'string')
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    return v;
  },
  z.array(repoPath, { error: 'must be a list of paths' }).max(1000),
);

const text = z.string().max(64 * 1024);

/**
 * Credentials reach git through the environment (askpass) or a file: a NUL byte can never get
 * there (Node refuses such an environment), so every sync would fail with a TypeError. Refused
 * at registration instead, naming the field (never quoting the value).
 */
const secretText = text.refine((v) => !v.includes('\0'), 'must not contain NUL characters').optional();

/** A user name is one line of git's askpass answer and half of `user:password` in basic auth. */
const userName = text
  .refine(
    (v) => ![...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\x7f'),
    'must not contain control characters',
  )
  .optional();

export const dependencySchema = z
  .object({
    name: nameSchema,
    url: repositoryUrl.optional(),
    addr: repositoryUrl.optional(),
    username: userName,
    password: secretText,
    mirrorOf: repositoryUrl.optional(),
    /** PEM CA certificates for this oci:// registry (checked as X.509 by the sidecar). */
    caData: z
      .string()
      .max(256 * 1024, 'must be at most 256 KiB of PEM')
      .optional(),
    /** Only the standalone config and the CLI read files; they turn it into caData first. */
    caFile: z.unknown().optional(),
    insecurePlainHttp: formBoolean.optional(),
    /**
     * The one registered git repo this dependency repository serves (its syncs alone see it);
     * absent: shared by every repo. Tenants' registrations are scoped (docs/dependencies.md).
     */
    repo: repoNameSchema.optional(),
  })
  .transform(({ addr, url, ...rest }, ctx) => {
    const resolved = url ?? addr;
    if (!resolved) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required (or its alias "addr")' });
      return z.NEVER;
    }
    if (rest.caFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: "is not read from the sidecar's file system here: send the PEM content as caData",
      });
      return z.NEVER;
    }
    const oci = /^oci:\/\//i.test(resolved);
    for (const field of ['caData', 'insecurePlainHttp'] as const) {
      if (rest[field] !== undefined && !oci) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'applies to oci:// repositories only (an http(s) URL already says its scheme)',
        });
        return z.NEVER;
      }
    }
    const { caFile: _caFile, ...kept } = rest;
    // An http(s) URL is kept as written, trailing `/` included: `@name` locks it in Chart.lock
    // and helm's digest covers it, so it must read as `helm repo add name URL` recorded it.
    return { ...kept, url: oci ? resolved.replace(/\/+$/, '') : resolved };
  });

export const repoSchema = z.object({
  name: repoNameSchema,
  git: z.string({ error: requiredString }).min(1, 'is required').max(4096),
  ref: z.string().min(1).max(1024).optional(),
  paths: pathList.optional(),
  username: userName,
  password: secretText,
  sshKey: secretText,
  knownHosts: secretText,
  prune: formBoolean.optional(),
  schedule: z.string().max(200).optional(),
  everyMinutes: formInt.optional(),
});

export type DependencyInput = z.output<typeof dependencySchema>;
export type RepoInput = z.output<typeof repoSchema>;

/** One readable line naming every offending field: `name: must be a DNS-1123 label; git: is required`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const field = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return field ? `${field}: ${i.message}` : i.message;
    })
    .join('; ');
}
