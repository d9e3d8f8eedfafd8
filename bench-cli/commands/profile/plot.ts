import { Args, Flags } from '@oclif/core';
import { writeOutputFile } from '../../../core/files/io.js';
import { getBuiltinProfile, loadProfileFile } from '../../../profiles/library.js';
import { profilePlotSpec } from '../../../profiles/plot.js';
import { renderSvg } from '../../../reports/charts.js';
import { BenchCommand } from '../../base-command.js';

export default class ProfilePlot extends BenchCommand {
  static override summary = 'Plot a profile as SVG: one cycle of v and i, the harmonic spectrum, P and Q over time.';
  static override args = {
    profile: Args.string({ required: true, description: 'Built-in profile name or YAML path.' }),
  };
  static override flags = { out: Flags.string({ description: 'SVG file to write.', required: true }) };

  async run(): Promise<{ file: string; bytes: number }> {
    const { args, flags } = await this.parse(ProfilePlot);
    const p = /\.(ya?ml|json)$/.test(args.profile) ? loadProfileFile(args.profile) : getBuiltinProfile(args.profile);
    const svg = await renderSvg(profilePlotSpec(p));
    writeOutputFile('--out', flags.out, svg);
    this.say(`wrote ${flags.out}`);
    return { file: flags.out, bytes: svg.length };
  }
}
