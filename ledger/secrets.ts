/**
 * Keeps private keys and mnemonics out of logs, records and error messages: every secret the ledger code touches
 * is registered here, and every message built from foreign text (node errors, ethers errors) goes through redact().
 */
const secrets = new Set<string>();

export function registerSecret(secret: string | undefined): void {
  if (!secret) return;
  secrets.add(secret);
  if (/^0x[0-9a-fA-F]+$/.test(secret)) secrets.add(secret.slice(2));
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (s.length >= 16 && out.includes(s)) out = out.split(s).join('[redacted]');
  // Any other 32-byte hex following a key-like word is treated as a key too.
  return out.replace(
    /((?:private|secret|key|mnemonic|phrase)[^0-9a-fA-F]{0,20})(0x)?[0-9a-fA-F]{64}/gi,
    '$1[redacted]',
  );
}
