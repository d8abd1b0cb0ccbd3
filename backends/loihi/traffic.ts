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
  // They live in fixed-size chunks, so growing never copies what is stored (tens of millions of pairs
  // on CIFAR VGG-16).
  private rowSrc: number[] = [];
  private rowChunk: number[] = [];
  private rowOff: number[] = [];
  private rowLen: number[] = [];
  private rowsTotal = 0;
  private chunkDst: Int32Array[] = [];
  private chunkMsgs: Float64Array[] = [];
  private chunkPos = 0;

  private sortBuf = new Int32Array(1024);
  /** Bitmap over the cores (all clear between calls) that sorts dense rows without comparisons. */
  private bits: Int32Array;
  /** Per row: whether a destination repeats (such rows take build()'s summing path). */
  private rowDup: number[] = [];

  constructor(readonly n: number) {
    this.bits = new Int32Array((n >> 5) + 1);
  }

  /**
   * Add messages from src to each dsts[i] of msgsOf(dsts[i]). The row is stored with its destinations
   * ascending, so build() copies a source's only row as it is when its destinations are distinct.
   */
  addRow(src: number, dsts: readonly number[], msgsOf: ArrayLike<number>): void {
    const len = dsts.length;
    let cur = this.chunkDst.length - 1;
    if (cur < 0 || this.chunkPos + len > this.chunkDst[cur]!.length) {
      const size = Math.max(1 << 20, len);
      this.chunkDst.push(new Int32Array(size));
      this.chunkMsgs.push(new Float64Array(size));
      cur++;
      this.chunkPos = 0;
    }
    const end = this.chunkPos;
    const rd = this.chunkDst[cur]!;
    const rm = this.chunkMsgs[cur]!;
    let lo = 0x7fffffff;
    let hi = -1;
    for (let i = 0; i < len; i++) {
      const d = dsts[i]!;
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    let dup = 0;
    let done = false;
    if (len > 0 && (hi >> 5) - (lo >> 5) <= 4 * len) {
      // Dense row (relay cores reach hundreds of consumer cores): mark the destinations in the bitmap
      // and read them back in ascending order.
      const bits = this.bits;
      for (let i = 0; i < len; i++) {
        const d = dsts[i]!;
        const w = d >> 5;
        const b = 1 << (d & 31);
        if (bits[w]! & b) dup = 1;
        bits[w]! |= b;
      }
      if (!dup) {
        let e = end;
        for (let w = lo >> 5; w <= hi >> 5; w++) {
          let x = bits[w]!;
          if (x === 0) continue;
          bits[w] = 0;
          const base = w << 5;
          while (x !== 0) {
            const t = x & -x;
            const d = base + 31 - Math.clz32(t);
            rd[e] = d;
            rm[e++] = msgsOf[d]!;
            x ^= t;
          }
        }
        done = true;
      } else for (let w = lo >> 5; w <= hi >> 5; w++) bits[w] = 0;
    }
    if (!done) {
      if (this.sortBuf.length < len) this.sortBuf = new Int32Array(Math.max(len, 2 * this.sortBuf.length));
      const sorted = this.sortBuf.subarray(0, len);
      for (let i = 0; i < len; i++) sorted[i] = dsts[i]!;
      sorted.sort();
      dup = 0;
      for (let i = 1; i < len; i++) if (sorted[i] === sorted[i - 1]) dup = 1;
      let e = end;
      for (let i = 0; i < len; i++) {
        const d = sorted[i]!;
        rd[e] = d;
        rm[e++] = msgsOf[d]!;
      }
    }
    this.chunkPos = end + len;
    this.rowsTotal += len;
    this.rowDup.push(dup);
    this.rowSrc.push(src);
    this.rowChunk.push(cur);
    this.rowOff.push(end);
    this.rowLen.push(len);
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
    // Triples and rows by source, each in the order added.
    const { start: count, order } = bySource(this.src, len, n);
    const { start: rcount, order: rorder } = bySource(Int32Array.from(this.rowSrc), this.rowSrc.length, n);
    const total = len + this.rowsTotal;
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
      if (count[s] === count[s + 1] && rcount[s + 1]! - rcount[s]! === 1 && !this.rowDup[rorder[rcount[s]!]!]) {
        // One row (distinct destinations, sorted) and no triples: the row as it is.
        const row = rorder[rcount[s]!]!;
        const q0 = this.rowOff[row]!;
        const q1 = q0 + this.rowLen[row]!;
        outDst.set(this.chunkDst[this.rowChunk[row]!]!.subarray(q0, q1), k);
        outMsgs.set(this.chunkMsgs[this.rowChunk[row]!]!.subarray(q0, q1), k);
        k += q1 - q0;
        start[s + 1] = k;
        continue;
      }
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
        const rd = this.chunkDst[this.rowChunk[row]!]!;
        const rm = this.chunkMsgs[this.rowChunk[row]!]!;
        const q1 = this.rowOff[row]! + this.rowLen[row]!;
        for (let q = this.rowOff[row]!; q < q1; q++) {
          const d = rd[q]!;
          if (!seen[d]) {
            seen[d] = 1;
            outDst[k++] = d;
          }
          acc[d]! += rm[q]!;
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
    // Few repeats (the usual case): views of the arrays, without copying hundreds of megabytes.
    return total - k <= total / 16 ? new Traffic(n, start, outDst.subarray(0, k), outMsgs.subarray(0, k)) : new Traffic(n, start, outDst.slice(0, k), outMsgs.slice(0, k));
  }
}

/**
 * Counting sort of the first len entries by their source key (0 ≤ key < n): the entries of source s are
 * order[start[s] .. start[s + 1]), in their original order.
 */
function bySource(keys: Int32Array, len: number, n: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < len; i++) start[keys[i]! + 1]!++;
  for (let s = 0; s < n; s++) start[s + 1]! += start[s]!;
  const pos = start.slice(0, n);
  const order = new Int32Array(len);
  for (let i = 0; i < len; i++) order[pos[keys[i]!]!++] = i;
  return { start, order };
}
