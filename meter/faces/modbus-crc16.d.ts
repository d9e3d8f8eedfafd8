// modbus-serial ships its CRC-16/MODBUS as a CommonJS util without typings.
declare module 'modbus-serial/utils/crc16.js' {
  export default function crc16(buffer: Buffer): number;
}
