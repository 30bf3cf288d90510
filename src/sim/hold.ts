/**
 * A lagging connection's send path: frames leave in the order they were queued, each no earlier than its
 * own release time. A frame with a later release time holds back every frame queued after it, as a slow
 * TCP connection does; nothing overtakes. Pure (the caller passes the clock and runs the timer).
 */

export interface Held<T> {
  item: T;
  bytes: number;
  releaseAtMs: number;
}

export class HoldQueue<T> {
  private items: Held<T>[] = [];
  private head = 0;
  private heldBytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  push(item: T, bytes: number, releaseAtMs: number): void {
    this.items.push({ item, bytes, releaseAtMs });
    this.heldBytes += bytes;
  }

  /** Release time of the frame at the head (undefined when empty): the next moment anything can leave. */
  nextReleaseMs(): number | undefined {
    return this.head < this.items.length ? this.items[this.head].releaseAtMs : undefined;
  }

  /** Frames that may leave at `nowMs`, in queue order: the head run whose release time has come. */
  takeDue(nowMs: number): T[] {
    const out: T[] = [];
    while (this.head < this.items.length && this.items[this.head].releaseAtMs <= nowMs) {
      const h = this.items[this.head++];
      this.heldBytes -= h.bytes;
      out.push(h.item);
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.heldBytes = 0;
  }
}
