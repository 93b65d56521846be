// Loaded into every test file's process (run-tests.mjs passes --import). Once a file's tests
// have all finished, a handle left open by a test (a socket, a server, a child's pipe) must not
// keep the process alive and hang the whole run. The timer is unref'd: a process that ends
// normally is not delayed, and one that lingers exits after its reports have long been flushed
// (unlike --test-force-exit, which can cut the report stream). It names what was still open,
// so the leak can be fixed where it is.
import { after } from 'node:test';

const graceMs = Number(process.env.TEST_EXIT_GRACE_MS ?? 15_000);
after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(
      `exit-guard: ${process.argv[1] ?? 'test file'} still had open handles ${graceMs} ms after its tests (${open.join(', ') || 'none but timers'}); exiting\n`,
    );
    process.exit();
  }, graceMs).unref();
});
