/**
 * Progress of a long command on standard error: a bar redrawn in place on a terminal (at most ten
 * times a second), or a plain line every tenth of the way otherwise (logs, CI).
 */
export function progressReporter(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): { update(done: number): void; end(done: number): void } {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastTenth = -1;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const line = (done: number) => {
    if (total === undefined || total === 0) return `${label}: ${fmt(done)}`;
    const ratio = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(ratio * width);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(ratio * 100)}% ${fmt(done)}/${fmt(total)}`;
  };
  return {
    update(done) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        stream.write(`\r${line(done)}`);
        return;
      }
      const tenth = total ? Math.floor((done / total) * 10) : Math.floor(done / 10_000);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        stream.write(`${line(done)}\n`);
      }
    },
    end(done) {
      stream.write(tty ? `\r${line(done)}\n` : `${line(done)}\n`);
    },
  };
}
