#!/usr/bin/env node
// Entry point of the `bench` CLI: hands argv to oclif, which loads commands from the generated manifest.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
