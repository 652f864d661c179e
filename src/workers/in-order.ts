/**
 * Running an async function over many items with a bounded number in
 * flight, yielding the outcomes in the items' order: many small files are
 * dominated by I/O latency, which overlapping hides, while the output must
 * still come out in the order the files were given.
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export async function* inOrder<I, T>(items: readonly I[], limit: number, run: (item: I) => Promise<T>): AsyncGenerator<{ item: I; result: Outcome<T> }> {
  const pending: Promise<Outcome<T>>[] = [];
  const start = (item: I): Promise<Outcome<T>> =>
    run(item).then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error: unknown): Outcome<T> => ({ ok: false, error }),
    );
  let next = 0;
  while (next < items.length && pending.length < limit) pending.push(start(items[next++] as I));
  for (let i = 0; i < items.length; i++) {
    const result = await (pending.shift() as Promise<Outcome<T>>);
    if (next < items.length) pending.push(start(items[next++] as I));
    yield { item: items[i] as I, result };
  }
}
