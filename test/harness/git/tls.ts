/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './proc.ts';

export interface Cert {
  key: string;
  cert: string;
  /** The certificate's path: what a client trusts (e.g. GIT_SSL_CAINFO). */
  certPath: string;
}

export async function selfSignedCert(dir: string): Promise<Cert> {
  const keyPath = join(dir, 'tls.key');
  const certPath = join(dir, 'tls.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8'), certPath };
}
