/**
 * Metadata stamps, the pure domain (DESIGN section 4): file types, the hash's normalisation, the three
 * stamp forms, creating and validating stamps, and O.N.E. v0.1 checks. No I/O: bytes and strings in,
 * bytes, strings and plain objects out; hashing is injected as a `HashFn`.
 *
 * The public surface, by layer. Internal helpers (line handling, stamp layout, magic bytes) stay private.
 */

export { type CommentDelimiters, type CommentStyle, commentDelimiters, commentStyles } from './comments.ts'
// Vocabulary
export {
  DEFAULT_NAMESPACE,
  type HashFn,
  INTEGRITY_ALGORITHM,
  isBlake3Hex,
  isIsoDateTime,
  isNamespace,
  isUuid,
  NAMESPACE_PATTERN,
  PROTOCOL_VERSION,
} from './fields.ts'
// What the content is, and what its hash covers
export { type DetectFileTypeInput, detectFileType, type FileKind, type FileType } from './file-types.ts'
// The three stamp forms
export { formatLightweight, type LightweightStamp, parseLightweight } from './lightweight.ts'
export { hashableBytes, normalizeForHash, stripStamps } from './normalize.ts'
export {
  assertProtocol,
  LIFECYCLES,
  type Lifecycle,
  type ProtocolMetadata,
  type ProtocolValidation,
  validateProtocol,
} from './protocol.ts'
export type { StampDocument, StampRecord } from './record.ts'
export {
  formatRichBlock,
  parseRichBlock,
  RICH_END_MARKER,
  RICH_START_MARKER,
  type RichStamp,
} from './rich.ts'
export { formatSidecar, parseSidecar, SIDECAR_SUFFIX, serializeSidecar, sidecarPath } from './sidecar.ts'
// Operations
export { type CreateStampInput, createStamp, type StampResult, type StampType } from './stamp.ts'
export {
  type FoundStamp,
  type StampValidation,
  type ValidateStampsInput,
  validateStamps,
} from './validate.ts'
