/**
 * The BLAKE3 facade's contract, shared by both backends. BLAKE3-256 only: the stamps of DESIGN
 * section 4 carry a 32-byte hash as 64 lowercase hex characters; no keyed or derive-key modes.
 */

/** Which implementation computes the hashes: the SIMD Rust binding, or its WebAssembly fallback. */
export type Blake3Backend = 'native' | 'wasm'

/** Incremental BLAKE3. Any chunking of the same bytes gives the same digest as `Blake3.hashHex`. */
export interface Blake3Hasher {
  /** Adds bytes. The hasher does not keep `data`, so the caller may reuse its buffer at once. */
  update(data: Uint8Array): Blake3Hasher
  /** The digest of everything added, as 64 lowercase hex characters. Ends the hasher: any later call throws. */
  digestHex(): string
}

export interface Blake3 {
  readonly backend: Blake3Backend
  /**
   * BLAKE3-256 of `data` as 64 lowercase hex characters. Synchronous: keep inputs to what may block
   * the event loop (about 0.5 ms per MiB natively); stream anything larger through `createHasher()`.
   */
  hashHex(data: Uint8Array): string
  createHasher(): Blake3Hasher
}

/** Both backends refuse use after digestHex(), so code written against one behaves the same on the other. */
export function hasherFinished(): Error {
  return new Error('Blake3Hasher: digestHex() was already called; create a new hasher')
}
