/** A fixed-size ring: pushing past `capacity` drops the oldest item (O(1), no array shifting). */
export class Ring<T> {
  private readonly items: Array<T | undefined>
  private start = 0
  private count = 0

  constructor (readonly capacity: number) {
    this.items = new Array(Math.max(1, capacity))
  }

  get size (): number { return this.count }

  push (item: T): void {
    const end = (this.start + this.count) % this.items.length
    this.items[end] = item
    if (this.count < this.items.length) this.count++
    else this.start = (this.start + 1) % this.items.length
  }

  /** the oldest item still kept */
  first (): T | undefined { return this.count > 0 ? this.items[this.start] : undefined }

  /** the items, oldest first */
  toArray (): T[] {
    const out: T[] = []
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.items.length] as T)
    return out
  }
}
