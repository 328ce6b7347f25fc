/**
 * A nested `transaction` call inside a transaction: a savepoint, so that the inner failure rolls back
 * only the inner work and the outer transaction may go on. Shared by every SQL adapter.
 */
export async function withSavepoint<T>(
  run: (sql: string) => Promise<unknown>,
  depth: number,
  fn: () => Promise<T>,
): Promise<T> {
  const name = `onex_sp_${depth}`
  await run(`SAVEPOINT ${name}`)
  try {
    const result = await fn()
    await run(`RELEASE SAVEPOINT ${name}`)
    return result
  } catch (err) {
    await run(`ROLLBACK TO SAVEPOINT ${name}`)
    throw err
  }
}
