/**
 * The UserIDs of one call as one newline-joined text and where each begins: the form a chunk is stored in
 * (state/watchlist-registry.ts) and the form the diff script takes (state/state-store.ts). A sweep's call goes
 * from the stored chunk to the request body, the answer's reading and the diff without a string, an array or a
 * set per user; `ids()` makes the strings only for what needs them (the full parser, a query with detail).
 */
export class UserIdList {
  /** Where each ID begins in `text`, and one more entry: where an ID after the last would begin. */
  private readonly starts: Int32Array;
  private split: readonly string[] | undefined;
  private firstRepeat: number | undefined;

  private constructor(
    /**
     * The IDs joined by '\n': one ID per line, except for an ID given to `of` that holds a newline itself (a
     * configured UserID cannot: control characters are refused), which only `of`'s offsets keep whole.
     */
    readonly text: string,
    starts: Int32Array,
    ids?: readonly string[],
  ) {
    this.starts = starts;
    this.split = ids;
  }

  /** The IDs of a newline-joined text (one ID per line, no trailing newline). */
  static fromText(text: string): UserIdList {
    let count = 1;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count += 1;
    const starts = new Int32Array(count + 1);
    let line = 1;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) starts[line++] = at + 1;
    starts[count] = text.length + 1;
    return new UserIdList(text, starts);
  }

  /**
   * The IDs as given (copied: a caller changing its array later changes nothing here); one that holds a newline
   * stays one ID (its place is counted, not searched for).
   */
  static of(ids: readonly string[]): UserIdList {
    const starts = new Int32Array(ids.length + 1);
    let at = 0;
    for (let i = 0; i < ids.length; i += 1) {
      starts[i] = at;
      at += ids[i]!.length + 1;
    }
    starts[ids.length] = at;
    return new UserIdList(ids.join('\n'), starts, ids.slice());
  }

  get count(): number {
    return this.starts.length - 1;
  }

  /** Where the ID at `index` begins in `text`. */
  startOf(index: number): number {
    return this.starts[index]!;
  }

  /** Its length. */
  lengthOf(index: number): number {
    return this.starts[index + 1]! - this.starts[index]! - 1;
  }

  idAt(index: number): string {
    return this.split?.[index] ?? this.text.slice(this.starts[index]!, this.starts[index + 1]! - 1);
  }

  /** The IDs as strings, made once. */
  ids(): readonly string[] {
    if (this.split === undefined) {
      const ids = new Array<string>(this.count);
      for (let i = 0; i < ids.length; i += 1) ids[i] = this.idAt(i);
      this.split = ids;
    }
    return this.split;
  }

  /** Whether the IDs at `a` and `b` are equal. */
  sameId(a: number, b: number): boolean {
    const length = this.lengthOf(a);
    if (length !== this.lengthOf(b)) return false;
    const text = this.text;
    const startA = this.starts[a]!;
    const startB = this.starts[b]!;
    for (let k = 0; k < length; k += 1) {
      if (text.charCodeAt(startA + k) !== text.charCodeAt(startB + k)) return false;
    }
    return true;
  }

  /**
   * The index of the first ID equal to an earlier one, or -1 when every ID is distinct; worked out once. A table of
   * indexes by hash over the text rather than a `Set` of strings: no string per ID.
   */
  firstRepeatedIndex(): number {
    if (this.firstRepeat === undefined) this.firstRepeat = this.findFirstRepeat();
    return this.firstRepeat;
  }

  /**
   * The IDs as a JSON array. A list of plain IDs (printable ASCII without `"` or `\`, as a configured UserID usually
   * is) is quoted in one step over the text; any other goes through `JSON.stringify`, the same text either way.
   */
  toJsonArray(): string {
    // Only a list read from text: one made by `of` may hold an ID with a newline, which the text cannot tell apart.
    if (this.split === undefined && PLAIN_LINES.test(this.text)) {
      return `["${this.text.replaceAll('\n', '","')}"]`;
    }
    return JSON.stringify(this.ids());
  }

  private findFirstRepeat(): number {
    const count = this.count;
    let size = 64;
    while (size < count * 2) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    const text = this.text;
    for (let i = 0; i < count; i += 1) {
      let hash = FNV_OFFSET;
      const end = this.starts[i + 1]! - 1;
      for (let at = this.starts[i]!; at < end; at += 1)
        hash = Math.imul(hash ^ text.charCodeAt(at), FNV_PRIME);
      for (let slot = (hash ^ (hash >>> 16)) & mask; ; slot = (slot + 1) & mask) {
        const entry = table[slot]!;
        if (entry === 0) {
          table[slot] = i + 1;
          break;
        }
        if (this.sameId(entry - 1, i)) return i;
      }
    }
    return -1;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Printable ASCII lines without a character JSON escapes: `"`, `\`. */
const PLAIN_LINES = /^[\x20\x21\x23-\x5b\x5d-\x7e\n]*$/;
