// Prints the plain `N passed, N failed` line CI reads, from vitest's JSON report.
import { readFileSync, existsSync } from 'node:fs';

const file = process.argv[2] ?? 'test-report.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  console.error(`no test report at ${file}: the test run did not finish`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const passed = r.numPassedTests ?? 0;
// A file that fails to load has no failed test but a failed suite: count it as one failure.
const failedTests = r.numFailedTests ?? 0;
const failed = failedTests > 0 ? failedTests : (r.numFailedTestSuites ?? 0) > 0 || r.success === false ? 1 : 0;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
