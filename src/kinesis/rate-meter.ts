/** Events per second over a sliding window of whole seconds (cheap enough for every batch). */
export class RateMeter {
  private readonly counts: number[];
  private readonly stamps: number[];

  constructor(
    private readonly windowSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = new Array<number>(windowSeconds).fill(0);
    this.stamps = new Array<number>(windowSeconds).fill(-1);
  }

  add(n: number): void {
    const sec = Math.floor(this.now() / 1000);
    const i = sec % this.windowSeconds;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** Mean rate over the completed seconds of the window plus the current one. */
  perSecond(): number {
    const sec = Math.floor(this.now() / 1000);
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.stamps[i] > sec - this.windowSeconds) total += this.counts[i];
    }
    return total / this.windowSeconds;
  }
}
