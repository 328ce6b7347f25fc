/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping input order in the output.
 * `fn` should not throw (callers that must survive a bad item catch inside `fn`); if it does, the
 * first error rejects the whole map once in-flight calls settle.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker))
  return results
}
