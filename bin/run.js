#!/usr/bin/env node
// Entry point of the `bench` CLI: hands argv to oclif, which loads commands from the generated manifest.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
// A finished command must not be kept alive by a lingering handle (e.g. a chain request still in flight from a
// case that was aborted): flush what was printed, then exit with the code the command set.
await new Promise((resolve) => process.stdout.write('', resolve));
await new Promise((resolve) => process.stderr.write('', resolve));
process.exit();
