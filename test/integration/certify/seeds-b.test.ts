import { RIGOR_SEEDS, rigorSeedTests } from '../../support/rigor-seeds.js';

// The rigor set's second half (the other is in seeds.test.ts): the healthy reference meter passes ev-billing.
rigorSeedTests(RIGOR_SEEDS.slice(10));
