import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StatementNames } from '../../../../src/adapters/db/postgres/statement-names.ts'

test('one name per SQL text, the same every time it is asked', () => {
  const names = new StatementNames()
  const a = names.nameOf('SELECT 1')
  const b = names.nameOf('SELECT 2')
  assert.ok(a && b && a !== b)
  assert.equal(names.nameOf('SELECT 1'), a)
})

test('beyond its capacity a new text runs unnamed; the named ones keep their names', () => {
  const names = new StatementNames(2)
  const a = names.nameOf('SELECT 1')
  names.nameOf('SELECT 2')
  assert.equal(names.nameOf('SELECT 3'), undefined)
  assert.equal(names.nameOf('SELECT 1'), a)
})

test('a stale text runs unnamed from then on, and its name is never given to another text', () => {
  const names = new StatementNames()
  const a = names.nameOf('SELECT * FROM t')
  names.stale('SELECT * FROM t')
  assert.equal(names.nameOf('SELECT * FROM t'), undefined)
  const b = names.nameOf('SELECT 2')
  assert.ok(b && b !== a)
})
