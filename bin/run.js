#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `bench` CLI: hands argv to oclif, which loads commands from the generated manifest.
// A young generation of 2 MB semi-spaces (V8's default grows to 16): `bench certify` streams a run's measurements
// through short-lived objects, so a small one costs no time (perf/certify.ts, side by side) and keeps the process's
// peak memory flat; the default's 32 MB of young generation was a seventh of it.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
// A finished command must not be kept alive by a lingering handle (e.g. a chain request still in flight from a
// case that was aborted): flush what was printed, then exit with the code the command set.
await new Promise((resolve) => process.stdout.write('', resolve));
await new Promise((resolve) => process.stderr.write('', resolve));
process.exit();
