import { fileURLToPath } from 'node:url';
import { offlineMeter } from '../meter/factory.js';
import { synthesizeMeterSync } from '../profiles/synth.js';
import { benchmarkHouse } from './household.js';

/**
 * 24 h of a house through synthesis → the reference meter, on a single-phase supply and on a three-phase one (the
 * same appliances spread over L1–L3, an 11 kW three-phase EV), timed side by side in this run. Three phases are
 * three times the channels to synthesise and analyse: the goal is a cost ratio of at most 3.2.
 */
function housePipelineSeconds(threePhase: boolean, hours: number): { seconds: number; events: number } {
  const scenario = benchmarkHouse(1, { threePhase });
  let events = 0;
  const { meter, close } = offlineMeter({
    meterId: 'house-1',
    seed: 1,
    outputs: { event: () => events++ },
    samplesPerCycle: 128,
  });
  const t0 = performance.now();
  for (const b of synthesizeMeterSync(scenario, 'house-1', { seed: 1, to: hours * 3600 })) meter.processBlock(b);
  meter.finish();
  const seconds = (performance.now() - t0) / 1000;
  close();
  return { seconds, events };
}

export async function benchThreePhase(hours = 24) {
  // Two rounds each, alternating, so whatever else the machine does weighs on both alike.
  let one = 0;
  let three = 0;
  let events = { one: 0, three: 0 };
  for (let r = 0; r < 2; r++) {
    const a = housePipelineSeconds(false, hours / 2);
    const b = housePipelineSeconds(true, hours / 2);
    one += a.seconds;
    three += b.seconds;
    events = { one: a.events, three: b.events };
  }
  const ratio = three / one;
  console.log(
    `synthesis → reference meter, ${hours} h of the benchmark house (its first ${hours / 2} h twice, alternating)`,
  );
  console.log(`  single-phase: ${one.toFixed(1)} s (${events.one} events in ${hours / 2} h)`);
  console.log(`  three-phase:  ${three.toFixed(1)} s (${events.three} events in ${hours / 2} h)`);
  console.log(`  cost three-phase ÷ single-phase = ${ratio.toFixed(2)} (goal ≤ 3.2: three times the channels)`);
  return { singlePhaseS: one, threePhaseS: three, ratio };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchThreePhase();
