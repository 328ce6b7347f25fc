import { createBLAKE3 } from 'hash-wasm'
import type { Blake3, Blake3Hasher } from './contract.ts'
import { hasherFinished } from './contract.ts'

// A streaming hasher's place on the shared instance: its saved state while another hasher holds the
// instance, or null before its first turn.
interface Turn {
  saved: Uint8Array | null
}

/** Loads the hash-wasm backend: portable, about a sixth of the native throughput. */
export async function loadWasmBlake3(): Promise<Blake3> {
  // hash-wasm creates instances asynchronously (WebAssembly.instantiate), but createHasher() is
  // synchronous. So every streaming hasher takes turns on one shared instance, swapping its ~2 KB
  // state in and out with save()/load() when hashers interleave; one-shot calls get their own
  // instance and never disturb a stream.
  const [oneShot, shared] = await Promise.all([createBLAKE3(), createBLAKE3()])
  let current: Turn | null = null

  const take = (turn: Turn): void => {
    if (current === turn) return
    if (current !== null) current.saved = shared.save()
    if (turn.saved === null) shared.init()
    else shared.load(turn.saved)
    current = turn
  }

  const createHasher = (): Blake3Hasher => {
    const turn: Turn = { saved: null }
    let finished = false
    const hasher: Blake3Hasher = {
      update(data) {
        if (finished) throw hasherFinished()
        take(turn)
        shared.update(data)
        return hasher
      },
      digestHex() {
        if (finished) throw hasherFinished()
        finished = true
        take(turn)
        current = null
        turn.saved = null
        return shared.digest('hex')
      },
    }
    return hasher
  }

  return {
    backend: 'wasm',
    hashHex(data) {
      // init() resets the same instance: no allocation beyond the result string.
      oneShot.init()
      oneShot.update(data)
      return oneShot.digest('hex')
    },
    createHasher,
  }
}
