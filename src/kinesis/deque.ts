/** An array-backed FIFO with O(1) amortized push/shift and in-order re-insertion at the front. */
export class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  at(index: number): T {
    return this.items[this.head + index] as T;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the dead prefix dominates, so memory follows the live size.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Remove and return the first `n` items. */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n) as T[];
    for (let i = 0; i < out.length; i++) this.items[this.head + i] = undefined;
    this.head += out.length;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Put `batch` back in front, keeping its order (a failed send returns its events). */
  unshiftAll(batch: readonly T[]): void {
    if (batch.length === 0) return;
    if (this.head >= batch.length) {
      this.head -= batch.length;
      for (let i = 0; i < batch.length; i++) this.items[this.head + i] = batch[i];
    } else {
      this.items = [...batch, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  clear(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}
