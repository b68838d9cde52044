/** Progress on stderr, at most four times a second: a rewritten line on a terminal, plain lines otherwise. */
export function progressReporter(
  label: string,
  unit = 'entries',
): { update: (done: number, total: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 250 && done < total) return;
      last = now;
      shown = true;
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      const line = `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit} (${pct}%)`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    end() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}
