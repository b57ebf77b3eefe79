// Prints the closing line « N passed, N failed » that the project's test script reads.
// Counts leaf tests only (not describe blocks, not the per-file wrappers).
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { details, skip, todo, file, name } = event.data;
    if (details?.type === "suite") continue;
    if (file && name === file) continue;
    if (skip || todo) skipped += 1;
    else if (event.type === "test:pass") passed += 1;
    else failed += 1;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
}
