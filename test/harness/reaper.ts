/**
 * Children that must not outlive this process, however it ends. A process killed with SIGKILL
 * (a test runner's timeout, `kill -9`, the OOM killer) runs no exit handler, so its children
 * would keep running: etcd and kube-apiserver holding ports and CPU for hours.
 *
 * The reaper is a small shell started in its own process group, holding the read end of a pipe
 * whose write end only this process has. This process tells it which process groups to guard;
 * when the pipe closes — this process ended, in any way — the reaper sends SIGTERM to every
 * group still listed, then SIGKILL to what is left after a grace period. Guarded children are
 * started as group leaders (`detached`), so their own children are reaped with them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const GRACE_SECONDS = 5;

// Reads `add|del <pgid>` and `keep|drop <dir>` lines until EOF, then reaps what is still
// listed: process groups first, then their scratch directories (mkdtemp names: no spaces).
const SCRIPT = `
groups=" "; dirs=" "
while read -r op arg; do
  case $op in
    add) groups="$groups$arg " ;;
    del) groups=$(printf '%s' "$groups" | sed "s| $arg | |") ;;
    keep) dirs="$dirs$arg " ;;
    drop) dirs=$(printf '%s' "$dirs" | sed "s| $arg | |") ;;
  esac
done
if [ -n "$(echo $groups)" ]; then
  # dash spells it kill -SIG -PGID (it refuses -- and -s)
  for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
  sleep ${GRACE_SECONDS}
  for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
fi
for d in $dirs; do rm -rf -- "$d"; done
exit 0
`;

let reaper: ChildProcess | undefined;

function tell(line: string): void {
  if (!reaper) {
    reaper = spawn('sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    // Neither the reaper nor the pipe to it may keep this process alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void })?.unref?.();
  }
  reaper.stdin?.write(`${line}\n`);
}

/**
 * Guards a child started with `detached: true` (it leads its own process group): the group is
 * killed when this process ends without having stopped it. Unguarded again once it exits.
 */
export function guardChild(child: ChildProcess): void {
  const pgid = child.pid;
  if (pgid === undefined) return;
  tell(`add ${pgid}`);
  child.once('exit', () => tell(`del ${pgid}`));
}

/** Removes `dir` when this process ends without having called `releaseDir(dir)`. */
export function guardDir(dir: string): void {
  tell(`keep ${dir}`);
}

export function releaseDir(dir: string): void {
  tell(`drop ${dir}`);
}

/** The reaper's pid (tests check it outlives this process and exits once it has reaped). */
export function reaperPid(): number | undefined {
  return reaper?.pid;
}

/** Pids of the live processes whose command line names `text` (a zombie's is empty). */
export function processesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
