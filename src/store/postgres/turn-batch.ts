/**
 * Work sent to PostgreSQL as one statement per batch. Under load many requests reach the same step at
 * about the same time (read a refresh family, rotate it); each round trip costs both processes far more
 * than the rows in it, so a batch of ten costs little more than one. A batch leaves at the end of the
 * event-loop turn it was started in, unless the previous one of its kind is still on its way: then the
 * items wait for it and leave together as the next (PostgreSQL's own group commit works the same way).
 * Light load goes out at once; heavy load forms large batches without a timer. Each item keeps its own
 * outcome. This is the PostgreSQL side of the group commit SQLite's store does.
 */
export class TurnBatch<I, O> {
  private items: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly max = 256,
    private readonly maxInFlight = 1,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      if (this.items.length >= this.max && this.inFlight < this.maxInFlight) this.flush();
      else if (!this.scheduled && this.inFlight < this.maxInFlight) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.items.length === 0 || this.inFlight >= this.maxInFlight) return;
    const batch = this.items.splice(0, this.max);
    this.inFlight += 1;
    this.run(batch.map((b) => b.item))
      .then(
        (outs) => batch.forEach((b, i) => b.resolve(outs[i]!)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        this.inFlight -= 1;
        // What arrived meanwhile goes now, as one batch.
        if (this.items.length > 0) this.flush();
      });
  }
}

/**
 * Splits items so that no key appears twice in a part (two rotations of one refresh family in one
 * statement could not tell which one won); parts run one after another, in arrival order.
 */
export function uniqueRounds<I>(items: I[], key: (i: I) => string): { index: number; item: I }[][] {
  const rounds: { index: number; item: I }[][] = [];
  const seen: Set<string>[] = [];
  items.forEach((item, index) => {
    const k = key(item);
    let r = 0;
    while (seen[r]?.has(k)) r++;
    (rounds[r] ??= []).push({ index, item });
    (seen[r] ??= new Set()).add(k);
  });
  return rounds;
}
