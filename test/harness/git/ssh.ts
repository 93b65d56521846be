/**
 * An OpenSSH server for git over ssh:// on 127.0.0.1: its own config, host key and
 * authorized_keys (one generated client key), repositories addressed by absolute path.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, run, startDaemon, tcpReady, waitFor } from './proc.ts';

export const SSHD = '/usr/sbin/sshd';

export interface SshGitServer {
  port: number;
  /** `ssh://<user>@127.0.0.1:<port><absolute bare path>` */
  url: (barePath: string) => string;
  /** The authorized client's private key (OpenSSH format). */
  clientKey: string;
  /** A private key the server does not accept. */
  otherKey: string;
  /** The known_hosts line for this server's host key. */
  knownHosts: string;
  /** A known_hosts line with a different key for the same host:port. */
  wrongKnownHosts: string;
  stop: () => Promise<void>;
}

export async function startSshGitServer(dir: string): Promise<SshGitServer> {
  await mkdir(dir, { recursive: true });
  const [hostKey, clientKey, otherKey, otherHostKey] = await Promise.all(
    ['host', 'client', 'other', 'otherhost'].map((n) => keygen(join(dir, n))),
  );
  await writeFile(join(dir, 'authorized_keys'), clientKey?.pub ?? '', { mode: 0o600 });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    await writeFile(config, sshdConfig(dir, port));
    const d = startDaemon(SSHD, ['-D', '-e', '-f', config]);
    try {
      await waitFor(`sshd on port ${port}`, async () => {
        if (d.child.exitCode !== null) throw new Error(d.output());
        return tcpReady(port, 'SSH-2.0');
      });
      const user = userInfo().username;
      return {
        port,
        url: (bare) => `ssh://${user}@127.0.0.1:${port}${bare}`,
        clientKey: clientKey?.key ?? '',
        otherKey: otherKey?.key ?? '',
        knownHosts: knownHostsLine(port, hostKey?.pub ?? ''),
        wrongKnownHosts: knownHostsLine(port, otherHostKey?.pub ?? ''),
        stop: d.stop,
      };
    } catch (err) {
      await d.stop();
      if (attempt >= 2) throw new Error(`sshd did not start: ${(err as Error).message}`);
    }
  }
}

function sshdConfig(dir: string, port: number): string {
  return `${[
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    // temp dirs are not root-owned 0755 all the way up
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel VERBOSE',
  ].join('\n')}\n`;
}

async function keygen(path: string): Promise<{ key: string; pub: string }> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'chartsync-test', '-f', path]);
  return { key: await readFile(path, 'utf8'), pub: await readFile(`${path}.pub`, 'utf8') };
}

function knownHostsLine(port: number, pub: string): string {
  const [type, key] = pub.trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type} ${key}`;
}
