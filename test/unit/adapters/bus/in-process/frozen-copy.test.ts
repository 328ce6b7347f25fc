import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { frozenJsonCopy } from '../../../../../src/adapters/bus/in-process/frozen-copy.ts'

const viaJson = (value: unknown) => {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

function assertDeepFrozen(value: unknown, path = '$'): void {
  if (typeof value !== 'object' || value === null) return
  assert.ok(Object.isFrozen(value), `${path} is frozen`)
  for (const [key, inner] of Object.entries(value)) assertDeepFrozen(inner, `${path}.${key}`)
}

class Point {
  x = 1
  y = 2
  get sum() {
    return this.x + this.y
  }
}

describe('frozenJsonCopy', () => {
  it('gives what JSON.parse(JSON.stringify(value)) gives, frozen', () => {
    const samples: unknown[] = [
      { a: 1, b: 'two', c: [1, 'x', null, true], d: { e: { f: [] } } },
      { n: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: -0, list: [-0, Number.NaN] },
      { gone: undefined, fn: () => 1, sym: Symbol('s'), kept: 0 },
      [undefined, () => 1, Symbol('s'), 'kept'],
      { at: new Date('2026-01-02T03:04:05.678Z'), custom: { toJSON: () => ({ replaced: true }) } },
      { point: new Point(), map: new Map([['k', 1]]), set: new Set([1]), bytes: new Uint8Array([1, 2]) },
      JSON.parse('{"__proto__": {"polluted": true}, "2": "b", "1": "a", "z": 0}'),
      Object.assign(Object.create(null), { bare: true }),
      { sparse: Object.assign(new Array(3), { 0: 1, 2: 3 }) },
      'text',
      42,
      null,
      true,
    ]
    for (const sample of samples) {
      const copy = frozenJsonCopy(sample)
      assert.deepStrictEqual(copy, viaJson(sample), JSON.stringify(sample))
      assertDeepFrozen(copy)
    }
    assert.equal(frozenJsonCopy(undefined), undefined)
    assert.equal(
      Object.getPrototypeOf(frozenJsonCopy(JSON.parse('{"__proto__": {"p": 1}}'))),
      Object.prototype,
    )
  })

  it('never shares an object with its input', () => {
    const input = { payload: { list: [{ x: 1 }] } }
    const copy = frozenJsonCopy(input) as typeof input
    input.payload.list[0]!.x = 2
    assert.equal(copy.payload.list[0]!.x, 1)
  })

  it('throws what JSON throws: BigInt, cycles', () => {
    assert.throws(() => frozenJsonCopy({ big: 1n }), TypeError)
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic['self'] = { back: cyclic }
    assert.throws(() => frozenJsonCopy(cyclic), TypeError)
  })

  it('copies deep structures', () => {
    let deep: unknown = { leaf: true }
    for (let i = 0; i < 1000; i++) deep = { next: deep, list: [i] }
    assert.deepStrictEqual(frozenJsonCopy(deep), viaJson(deep))
  })
})
