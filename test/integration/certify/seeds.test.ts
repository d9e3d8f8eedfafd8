import { RIGOR_SEEDS, rigorSeedTests } from '../../support/rigor-seeds.js';

// The rigor set's first half (the other is in seeds-b.test.ts): the healthy reference meter passes ev-billing.
rigorSeedTests(RIGOR_SEEDS.slice(0, 10));
