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

  // Whole rows (a source's destinations at once, e.g. a relay core's): appended as they come, no
  // per-triple source and no sorting pass. build() adds them after the triples of the same source.
  private rowSrc: number[] = [];
  private rowStart: number[] = [0];
  private rowDst = new Int32Array(1 << 16);
  private rowMsgs = new Float64Array(1 << 16);

  constructor(readonly n: number) {}

  /** Add messages from src to each dsts[i] (i < len) of msgsOf(dsts[i]). */
  addRow(src: number, dsts: readonly number[], msgsOf: ArrayLike<number>): void {
    const len = dsts.length;
    let end = this.rowStart[this.rowStart.length - 1]!;
    if (end + len > this.rowDst.length) {
      let cap = this.rowDst.length;
      while (end + len > cap) cap *= 2;
      const d = new Int32Array(cap);
      d.set(this.rowDst.subarray(0, end));
      this.rowDst = d;
      const m = new Float64Array(cap);
      m.set(this.rowMsgs.subarray(0, end));
      this.rowMsgs = m;
    }
    for (let i = 0; i < len; i++) {
      const d = dsts[i]!;
      this.rowDst[end] = d;
      this.rowMsgs[end++] = msgsOf[d]!;
    }
    this.rowSrc.push(src);
    this.rowStart.push(end);
  }

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
    // Rows by source (in the order added).
    const nRows = this.rowSrc.length;
    const rcount = new Int32Array(n + 1);
    for (let i = 0; i < nRows; i++) rcount[this.rowSrc[i]! + 1]!++;
    for (let s = 0; s < n; s++) rcount[s + 1]! += rcount[s]!;
    const rpos = rcount.slice(0, n);
    const rorder = new Int32Array(nRows);
    for (let i = 0; i < nRows; i++) rorder[rpos[this.rowSrc[i]!]!++] = i;
    const total = len + this.rowStart[nRows]!;
    // Per source: sum repeats with a dense accumulator (triples first, then rows, each in the order
    // added), destinations ascending.
    const acc = new Float64Array(n);
    const seen = new Uint8Array(n);
    const start = new Int32Array(n + 1);
    const outDst = new Int32Array(total);
    const outMsgs = new Float64Array(total);
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
      for (let j = rcount[s]!; j < rcount[s + 1]!; j++) {
        const row = rorder[j]!;
        for (let q = this.rowStart[row]!; q < this.rowStart[row + 1]!; q++) {
          const d = this.rowDst[q]!;
          if (!seen[d]) {
            seen[d] = 1;
            outDst[k++] = d;
          }
          acc[d]! += this.rowMsgs[q]!;
        }
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
