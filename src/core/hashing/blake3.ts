/**
 * The BLAKE3 facade (DESIGN section 2): @napi-rs/blake-hash (native, SIMD) when its binary loads,
 * hash-wasm otherwise. Load it once at start-up and pass the `Blake3` to whatever hashes.
 */
import { loadNativeBlake3 } from './blake3-native.ts'
import { loadWasmBlake3 } from './blake3-wasm.ts'
import type { Blake3, Blake3Backend } from './contract.ts'

export type { Blake3, Blake3Backend, Blake3Hasher } from './contract.ts'

/**
 * Loads a BLAKE3 backend. Read `backend` on the result to log which one runs.
 *
 * @param prefer `'auto'` = native @napi-rs/blake-hash, falling back to hash-wasm when the native
 *   binary cannot load; `'native'` or `'wasm'` = that backend only (`'native'` rejects if it cannot load).
 * @default 'auto'
 * @example
 * const blake3 = await loadBlake3()
 * blake3.hashHex(new TextEncoder().encode('abc')) // '6437b3ac...'
 */
export async function loadBlake3(prefer: 'auto' | Blake3Backend = 'auto'): Promise<Blake3> {
  if (prefer === 'wasm') return selfTested(await loadWasmBlake3())
  try {
    return selfTested(await loadNativeBlake3())
  } catch (cause) {
    if (prefer === 'native') {
      const reason = cause instanceof Error ? cause.message : String(cause)
      throw new Error(`BLAKE3 native backend (@napi-rs/blake-hash) cannot be used: ${reason}`, { cause })
    }
    return selfTested(await loadWasmBlake3())
  }
}

// BLAKE3("abc"), from the reference implementation. A binary that loads but computes something else
// (a wrong build for this CPU, say) must count as not loading, so that 'auto' falls back.
const ABC = new Uint8Array([0x61, 0x62, 0x63])
const ABC_HEX = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'

function selfTested(blake3: Blake3): Blake3 {
  const oneShot = blake3.hashHex(ABC)
  const streamed = blake3.createHasher().update(ABC.subarray(0, 1)).update(ABC.subarray(1)).digestHex()
  if (oneShot !== ABC_HEX || streamed !== ABC_HEX) {
    throw new Error(`BLAKE3 ${blake3.backend} backend failed its self-test: got ${oneShot} / ${streamed}`)
  }
  return blake3
}
