/**
 * Core-to-core traffic as a compressed sparse row matrix: for each source core, its destination cores
 * (ascending) and the messages per inference sent to each.
 *
 * Relayed fan-out makes this matrix large (CIFAR VGG-16 on Loihi 1: ~27,000 cores and ~16 million
 * core pairs, each relay core reaching the few hundred consumer cores of its neurons), so it is held
 * in typed arrays instead of one Map per core: a Map entry costs tens of bytes and the per-pair object
 * graph was what exhausted the heap.
 */
export class Traffic {
  constructor(
    /** Cores. */
    readonly n: number,
    /** Row starts: the pairs of source s are [start[s], start[s + 1]). */
    readonly start: Int32Array,
    readonly dst: Int32Array,
    readonly msgs: Float64Array,
  ) {}

  static empty(n = 0): Traffic {
    return new Traffic(n, new Int32Array(n + 1), new Int32Array(0), new Float64Array(0));
  }

  /** Core pairs with traffic. */
  get pairs(): number {
    return this.dst.length;
  }

  /** Every (source, destination, messages), sources ascending, destinations ascending within a source. */
  forEach(visit: (src: number, dst: number, msgs: number) => void): void {
    for (let s = 0; s < this.n; s++) for (let k = this.start[s]!; k < this.start[s + 1]!; k++) visit(s, this.dst[k]!, this.msgs[k]!);
  }

  /** Messages from src to dst (0 if none). */
  get(src: number, dst: number): number {
    let a = this.start[src]!;
    let b = this.start[src + 1]!;
    while (a < b) {
      const m = (a + b) >> 1;
      if (this.dst[m]! < dst) a = m + 1;
      else b = m;
    }
    return a < this.start[src + 1]! && this.dst[a] === dst ? this.msgs[a]! : 0;
  }
}

/** Accumulates (source, destination, messages) triples in any order, with repeats; build() sums them. */
export class TrafficBuilder {
  private src = new Int32Array(1 << 16);
  private dst = new Int32Array(1 << 16);
  private msgs = new Float64Array(1 << 16);
  private len = 0;

  constructor(readonly n: number) {}

  add(src: number, dst: number, msgs: number): void {
    if (this.len === this.src.length) {
      const cap = this.src.length * 2;
      const s = new Int32Array(cap);
      s.set(this.src);
      this.src = s;
      const d = new Int32Array(cap);
      d.set(this.dst);
      this.dst = d;
      const m = new Float64Array(cap);
      m.set(this.msgs);
      this.msgs = m;
    }
    this.src[this.len] = src;
    this.dst[this.len] = dst;
    this.msgs[this.len] = msgs;
    this.len++;
  }

  build(): Traffic {
    const n = this.n;
    const len = this.len;
    // Counting sort by source.
    const count = new Int32Array(n + 1);
    for (let i = 0; i < len; i++) count[this.src[i]! + 1]!++;
    for (let s = 0; s < n; s++) count[s + 1]! += count[s]!;
    const pos = count.slice(0, n);
    const order = new Int32Array(len);
    for (let i = 0; i < len; i++) order[pos[this.src[i]!]!++] = i;
    // Per source: sum repeats with a dense accumulator, destinations ascending.
    const acc = new Float64Array(n);
    const seen = new Uint8Array(n);
    const start = new Int32Array(n + 1);
    const outDst = new Int32Array(len);
    const outMsgs = new Float64Array(len);
    let k = 0;
    for (let s = 0; s < n; s++) {
      const k0 = k;
      for (let j = count[s]!; j < count[s + 1]!; j++) {
        const i = order[j]!;
        const d = this.dst[i]!;
        if (!seen[d]) {
          seen[d] = 1;
          outDst[k++] = d;
        }
        acc[d]! += this.msgs[i]!;
      }
      const row = outDst.subarray(k0, k);
      row.sort();
      for (let j = k0; j < k; j++) {
        const d = outDst[j]!;
        outMsgs[j] = acc[d]!;
        acc[d] = 0;
        seen[d] = 0;
      }
      start[s + 1] = k;
    }
    return new Traffic(n, start, outDst.slice(0, k), outMsgs.slice(0, k));
  }
}
