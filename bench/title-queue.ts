/**
 * An ordered set of titles with their sizes, oldest first: the queue under the reactive caches.
 * A doubly linked list over arrays indexed by title (titles are the simulator's small integer
 * indices), so every operation is O(1). A `Map` gave the same order, but V8 leaves a hole for each
 * deleted entry until the table is rebuilt, and reading the oldest entry of a queue that is deleted
 * from the front walks those holes: that walk was a sixth of a big matrix run.
 */
export class TitleQueue {
  private next = new Int32Array(16);
  private prev = new Int32Array(16);
  private sizes = new Float64Array(16);
  private held = new Uint8Array(16);
  private head = -1;
  private tail = -1;
  private count = 0;

  /** Titles held. */
  get length(): number {
    return this.count;
  }

  has(title: number): boolean {
    return title < this.held.length && this.held[title] === 1;
  }

  /** The title's size, or undefined if not held. */
  sizeOf(title: number): number | undefined {
    return this.has(title) ? this.sizes[title] : undefined;
  }

  /** The oldest title, or -1 when empty. */
  first(): number {
    return this.head;
  }

  /** The title after `title` (towards the newest), or -1 at the end. */
  after(title: number): number {
    return this.next[title];
  }

  /** Adds a title at the newest end; a title already held moves there (and takes the new size). */
  push(title: number, size: number): void {
    if (!Number.isInteger(title) || title < 0) throw new RangeError(`title index ${title}: expected an integer >= 0`);
    if (title >= this.held.length) this.grow(title + 1);
    if (this.held[title] === 1) this.unlink(title);
    this.held[title] = 1;
    this.sizes[title] = size;
    this.prev[title] = this.tail;
    this.next[title] = -1;
    if (this.tail === -1) this.head = title;
    else this.next[this.tail] = title;
    this.tail = title;
    this.count++;
  }

  /** Removes a title; returns whether it was held. */
  delete(title: number): boolean {
    if (!this.has(title)) return false;
    this.unlink(title);
    this.held[title] = 0;
    return true;
  }

  private unlink(title: number): void {
    const p = this.prev[title];
    const n = this.next[title];
    if (p === -1) this.head = n;
    else this.next[p] = n;
    if (n === -1) this.tail = p;
    else this.prev[n] = p;
    this.count--;
  }

  private grow(min: number): void {
    let n = this.held.length;
    while (n < min) n *= 2;
    const widen = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.next = widen(this.next, (k) => new Int32Array(k));
    this.prev = widen(this.prev, (k) => new Int32Array(k));
    this.sizes = widen(this.sizes, (k) => new Float64Array(k));
    this.held = widen(this.held, (k) => new Uint8Array(k));
  }
}
