import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Flags } from '@oclif/core';
import { writeOutputFile } from '../../../core/files/io.js';
import { procurementTable } from '../../../farm/compare.js';
import { withLab } from '../../../farm/db.js';
import {
  type ProcurementTable,
  renderProcurementHtml,
  renderProcurementMarkdown,
} from '../../../reports/procurement.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabCompare extends BenchCommand {
  static override summary =
    "The procurement table: one suite's runs on several devices side by side, with an HTML report.";
  static override examples = [
    '<%= config.bin %> lab compare --suite ev-billing --devices vendor-a,vendor-b,vendor-c --out compare',
  ];
  static override flags = {
    db: labDbFlag,
    suite: Flags.string({ description: 'The suite the devices ran.', required: true }),
    devices: Flags.string({ description: 'Devices to compare, comma-separated.', required: true }),
    out: Flags.string({ description: 'Write procurement.md and procurement.html into this directory.' }),
  };

  async run(): Promise<ProcurementTable & { files: string[] }> {
    const { flags } = await this.parse(LabCompare);
    return withLab(flags.db, async (pool) => {
      const devices = flags.devices
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      const table = await procurementTable(pool, { suite: flags.suite, devices });
      const md = renderProcurementMarkdown(table);
      this.say(md);
      const files: string[] = [];
      if (flags.out) {
        mkdirSync(flags.out, { recursive: true });
        writeOutputFile('--out', join(flags.out, 'procurement.md'), md);
        writeOutputFile('--out', join(flags.out, 'procurement.html'), renderProcurementHtml(table));
        files.push(join(flags.out, 'procurement.md'), join(flags.out, 'procurement.html'));
        for (const f of files) this.say(`wrote ${f}`);
      }
      return { ...table, files };
    });
  }
}
