import type { IConfiguration } from 'dependency-cruiser';

export interface LayerRow {
  folder: string;
  mayImport: string[];
  anything: boolean;
}
export function readLayerTable(markdown?: string): LayerRow[];
declare const config: IConfiguration;
export default config;
