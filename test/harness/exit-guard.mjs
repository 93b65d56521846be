// Loaded into every test file's process (run-tests.mjs passes --import). Once a file's tests
// have all finished, a handle left open by a test (a socket, a server, a child's pipe) must not
// keep the process alive and hang the whole run. The timer is unref'd: a process that ends
// normally is not delayed, and one that lingers exits after its reports have long been flushed
// (unlike --test-force-exit, which can cut the report stream). It names what was still open,
// so the leak can be fixed where it is.
//
// A process whose event loop is blocked never runs that timer, so a backstop outside it does:
// a shell holding a pipe from this process. When the process ends, the pipe closes and the shell
// exits; if the pipe is still open well after the timer's time, the process is stuck and the
// shell kills it (the file then fails, visibly, instead of hanging CI).
import { spawn } from 'node:child_process';
import { after } from 'node:test';

const graceMs = Number(process.env.TEST_EXIT_GRACE_MS ?? 15_000);
after(() => {
  // The linger of test/operator/resilience.test.ts, caught live with gdb: after every test and
  // report was done, the process spun at 100% CPU inside node's own teardown
  // (FreeEnvironment -> RunCleanup -> CleanupHandles -> uv_run, over and over): a request still
  // counted as pending on a socket that was already closed (the TCP proxy / watch connections)
  // keeps that cleanup loop running while libuv has nothing left to wait on. No JS runs there,
  // so neither the timer below nor the backstop catches it (the backstop's pipe is closed by
  // the same teardown). Once the file's 'exit' event has run (every report is written: stdout
  // to the parent is a pipe, synchronous on Linux), end the process directly, skipping that
  // teardown. Registered here, after the test runner's own listeners, so it runs last.
  process.on('exit', (code) => process.reallyExit(code));
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(
      `exit-guard: ${process.argv[1] ?? 'test file'} still had open handles ${graceMs} ms after its tests (${open.join(', ') || 'none but timers'}); exiting\n`,
    );
    process.exit();
  }, graceMs).unref();

  const backstopSeconds = Math.ceil(graceMs / 1000) + Number(process.env.TEST_EXIT_BACKSTOP_S ?? 30);
  const backstop = spawn(
    'sh',
    [
      '-c',
      `timeout ${backstopSeconds} cat >/dev/null; [ $? -eq 124 ] || exit 0; echo "exit-guard: $1 was stuck (event loop blocked) ${backstopSeconds} s after its tests; killing it" >&2; kill -KILL ${process.pid}`,
      'exit-guard',
      process.argv[1] ?? 'test file',
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  backstop.on('error', () => undefined);
  backstop.stdin.on('error', () => undefined);
  backstop.unref();
  backstop.stdin.unref?.();
});
