#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50
// Entry point of the `bench` CLI: hands argv to oclif, which loads commands from the generated manifest.
// Two V8 heap settings keep a long run's memory flat at no cost in time (perf/certify.ts, side by side):
// - a young generation of 2 MB semi-spaces (V8's default grows to 16): `bench certify` streams a run's
//   measurements through short-lived objects; the default's 32 MB of young generation was a seventh of its peak;
// - the old generation may grow to 1.5 × what survived the last full collection before the next one. V8's
//   default sizes that room from the collector's speed and let a day's run grow from 36 MB live to 85 MB of
//   heap with one full collection; with this, a full collection every few seconds costs about 5 ms, and the
//   24 h run's peak RSS fell from about 200 MB to about 172 MB (a 4-house street's from 340 to 245 MB).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
// A finished command must not be kept alive by a lingering handle (e.g. a chain request still in flight from a
// case that was aborted): flush what was printed, then exit with the code the command set.
await new Promise((resolve) => process.stdout.write('', resolve));
await new Promise((resolve) => process.stderr.write('', resolve));
process.exit();
