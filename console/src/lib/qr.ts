import qrcode from 'qrcode-generator';

/**
 * The modules of a QR code for `text` (an otpauth URI), computed here in the browser: the TOTP
 * secret never leaves the page for a QR service. Error correction M, the smallest version that fits.
 * Returns rows of booleans (true: dark).
 */
export function qrModules(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const rows: boolean[][] = [];
  for (let r = 0; r < n; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < n; c++) row.push(qr.isDark(r, c));
    rows.push(row);
  }
  return rows;
}

/**
 * An SVG path (`d`) drawing the dark modules as unit squares, offset by a quiet zone of `margin`
 * modules: one element instead of hundreds, no inline style (the CSP forbids it).
 */
export function qrPath(modules: boolean[][], margin = 4): string {
  const parts: string[] = [];
  modules.forEach((row, r) => {
    row.forEach((dark, c) => {
      if (dark) parts.push(`M${c + margin} ${r + margin}h1v1h-1z`);
    });
  });
  return parts.join('');
}
