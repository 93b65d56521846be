/**
 * Throwaway PKI for the test API server, made with the `openssl` CLI: a CA, a serving
 * certificate for 127.0.0.1/localhost (and any extra names), an admin client certificate (O=system:masters) and the
 * service-account signing key pair that the TokenRequest API needs.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

// EC keys: generated in milliseconds, accepted by the API server for TLS and token signing.
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** A leaf certificate signed by the CA. */
async function issue(
  pki: Pick<Pki, 'caCert' | 'caKey'>,
  cert: string,
  key: string,
  subject: string,
  ext: string[],
) {
  const addext = ['basicConstraints=critical,CA:FALSE', ...ext].flatMap((e) => ['-addext', e]);
  await openssl([
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '7',
    '-subj',
    subject,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    ...addext,
  ]);
}

/**
 * Creates every key and certificate in `dir`; returns their paths. `sans` adds subject alternative
 * names to the serving certificate (e.g. `IP:10.217.0.1`, `DNS:kubernetes.default.svc`).
 */
export async function makePki(dir: string, sans: string[] = []): Promise<Pki> {
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saPublicKey: p('sa.pub'),
    saPrivateKey: p('sa.key'),
  };
  await openssl([
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-days',
    '7',
    '-subj',
    '/CN=envtest-ca',
  ]);
  await Promise.all([
    issue(pki, pki.servingCert, pki.servingKey, '/CN=kube-apiserver', [
      `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...sans].join(',')}`,
      'extendedKeyUsage=serverAuth',
    ]),
    issue(pki, pki.adminCert, pki.adminKey, '/O=system:masters/CN=envtest-admin', [
      'extendedKeyUsage=clientAuth',
    ]),
    openssl([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-out',
      pki.saPrivateKey,
    ]).then(() => openssl(['pkey', '-in', pki.saPrivateKey, '-pubout', '-out', pki.saPublicKey])),
  ]);
  return pki;
}
