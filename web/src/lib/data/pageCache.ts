// Row pages for the virtualised table and the hover card: fixed-size pages fetched on demand,
// requests for the same page shared, and the least recently used pages dropped past a limit.

import type { Cell, RowPage } from './arrow';

export type PageFetcher = (offset: number, limit: number) => Promise<RowPage>;

export class PageCache {
  private pages = new Map<number, RowPage>();
  private inflight = new Map<number, Promise<RowPage>>();

  constructor(
    private readonly fetcher: PageFetcher,
    readonly pageSize = 100,
    readonly maxPages = 64,
  ) {}

  pageOf(row: number): number {
    return Math.floor(row / this.pageSize);
  }

  /** The row if its page is already here (no request). */
  peek(row: number): Record<string, Cell> | undefined {
    const page = this.pages.get(this.pageOf(row));
    if (!page) return undefined;
    this.touch(this.pageOf(row), page);
    return page.rows[row - page.offset];
  }

  async row(row: number): Promise<Record<string, Cell> | undefined> {
    const page = await this.page(this.pageOf(row));
    return page.rows[row - page.offset];
  }

  page(index: number): Promise<RowPage> {
    const have = this.pages.get(index);
    if (have) {
      this.touch(index, have);
      return Promise.resolve(have);
    }
    const running = this.inflight.get(index);
    if (running) return running;
    const p = this.fetcher(index * this.pageSize, this.pageSize)
      .then((page) => {
        this.pages.set(index, page);
        this.evict();
        return page;
      })
      .finally(() => this.inflight.delete(index));
    this.inflight.set(index, p);
    return p;
  }

  /** Loads every page overlapping rows `[from, to)`. */
  ensure(from: number, to: number): Promise<RowPage[]> {
    const first = this.pageOf(Math.max(0, from));
    const last = this.pageOf(Math.max(0, to - 1));
    const all: Promise<RowPage>[] = [];
    for (let i = first; i <= last; i++) all.push(this.page(i));
    return Promise.all(all);
  }

  get size(): number {
    return this.pages.size;
  }

  private touch(index: number, page: RowPage) {
    this.pages.delete(index);
    this.pages.set(index, page);
  }

  private evict() {
    while (this.pages.size > this.maxPages) {
      const oldest = this.pages.keys().next().value;
      if (oldest === undefined) break;
      this.pages.delete(oldest);
    }
  }
}
