import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the closing line CI reads, `vitest: N passed, N failed, N skipped` (tests, not files), and fails
 * a run in which no test ran. A test file that could not be loaded has no tests to count: it counts as
 * one failure, and a line before the closing one names each such file, so that the tests it hides are
 * not mistaken for a small number of failures.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const unloaded: string[] = [];
    for (const mod of testModules) {
      let tests = 0;
      for (const test of mod.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (tests === 0 && mod.state() === 'failed') {
        failed++;
        unloaded.push(mod.moduleId);
      }
    }
    failed += unhandledErrors.length;
    if (passed + failed === 0) {
      process.stdout.write('vitest: no test ran; failing the run\n');
      process.exitCode = 1;
    }
    if (unloaded.length > 0) {
      process.stdout.write(
        `\nvitest: ${unloaded.length} test file(s) could not be loaded; their tests are not counted (one failure each):\n` +
          unloaded.map((m) => `  ${m}\n`).join(''),
      );
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
