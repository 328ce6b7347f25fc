import Type from 'typebox'

/** Wire schemas of the stamping routes: fastify validates requests with them and documents them at /docs. */

export const namespacePattern = '^(omninode|onex)\\.[a-zA-Z0-9_.]+$'
const base64Pattern = '^[A-Za-z0-9+/]*={0,2}$'
const hexHash = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'BLAKE3 digest, 64 lowercase hex characters',
})

const contentFields = {
  content: Type.Optional(Type.String({ description: 'The content as UTF-8 text' })),
  content_base64: Type.Optional(
    Type.String({
      pattern: base64Pattern,
      description: 'The content as base64 (binary files); instead of `content`',
    }),
  ),
  file_path: Type.Optional(
    Type.String({ minLength: 1, maxLength: 4096, description: 'Used for file type detection and recorded' }),
  ),
  content_type: Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'MIME type, when the path says nothing' }),
  ),
}

export const HashJsonBody = Type.Object(
  { content: contentFields.content, content_base64: contentFields.content_base64 },
  { additionalProperties: false },
)

export const HashData = Type.Object({
  file_hash: hexHash,
  size_bytes: Type.Integer(),
  execution_time_ms: Type.Number(),
  hash_backend: Type.String(),
})

export const StampBody = Type.Object(
  {
    ...contentFields,
    namespace: Type.Optional(
      Type.String({ pattern: namespacePattern, description: 'Default omninode.services.metadata' }),
    ),
    stamp_type: Type.Optional(
      Type.Union([Type.Literal('lightweight'), Type.Literal('rich'), Type.Literal('sidecar')], {
        description:
          'Default lightweight; binary content, JSON and CSV always get a sidecar (their bytes are never modified)',
      }),
    ),
    intelligence_data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
)

export const StoredStampSchema = Type.Object({
  id: Type.String(),
  file_hash: hexHash,
  namespace: Type.String(),
  file_path: Type.Union([Type.String(), Type.Null()]),
  file_size: Type.Integer(),
  content_type: Type.String(),
  stamp_type: Type.String(),
  stamp_data: Type.Record(Type.String(), Type.Unknown()),
  intelligence_data: Type.Record(Type.String(), Type.Unknown()),
  protocol_version: Type.String(),
  metadata_version: Type.String(),
  op_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
})

/** The stamp as a rich block or sidecar (`.onex-meta.json`) writes it. */
export const StampDocumentSchema = Type.Object({
  uid: Type.String({ format: 'uuid' }),
  hash: hexHash,
  timestamp: Type.String(),
  protocol_version: Type.String(),
  file_path: Type.Union([Type.String(), Type.Null()]),
  file_size: Type.Integer({ description: 'Bytes of the content without its stamps' }),
  content_type: Type.String(),
  namespace: Type.String(),
  integrity: Type.Object({ algorithm: Type.String(), hash: Type.String() }),
})

export const StampData = Type.Object({
  file_hash: hexHash,
  namespace: Type.String(),
  stamp_type: Type.String(),
  file_kind: Type.String(),
  changed: Type.Boolean({ description: 'False when the content already carried this stamp' }),
  created: Type.Boolean({ description: 'False when this content was stored in this namespace before' }),
  stamped_content: Type.Optional(Type.String()),
  stamped_content_base64: Type.Optional(Type.String()),
  sidecar: Type.Optional(StampDocumentSchema),
  sidecar_path: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  record: StoredStampSchema,
})

export const ValidateBody = Type.Object(
  {
    ...contentFields,
    sidecar: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'The .onex-meta.json of binary content' }),
    ),
  },
  { additionalProperties: false },
)

export const ValidationData = Type.Object({
  valid: Type.Boolean({ description: 'Stamped, and every stamp found matches the content' }),
  stamped: Type.Boolean({ description: 'At least one stamp was found' }),
  current_hash: hexHash,
  file_kind: Type.String(),
  content_type: Type.String(),
  stamps: Type.Array(
    Type.Object({
      type: Type.Union([Type.Literal('lightweight'), Type.Literal('rich'), Type.Literal('sidecar')]),
      uid: Type.String(),
      hash: Type.String(),
      timestamp: Type.String(),
      namespace: Type.String(),
      valid: Type.Boolean(),
      line: Type.Optional(Type.Integer({ description: '1-based line of an embedded stamp' })),
    }),
  ),
})

export function batchBody(maxItems: number) {
  return Type.Object(
    {
      items: Type.Array(
        Type.Unknown({ description: 'A POST /stamp body; each item is checked on its own' }),
        {
          minItems: 1,
          maxItems,
        },
      ),
    },
    { additionalProperties: false },
  )
}

export const BatchData = Type.Object({
  total: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: Type.Union([Type.Literal('success'), Type.Literal('error')]),
      data: Type.Optional(StampData),
      error: Type.Optional(
        Type.Object({
          code: Type.String(),
          message: Type.String(),
          details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        }),
      ),
    }),
  ),
})

export const ProtocolBody = Type.Object(
  { metadata: Type.Unknown({ description: 'The O.N.E. v0.1 metadata document to check' }) },
  { additionalProperties: false, required: ['metadata'] },
)

export const ProtocolData = Type.Object({
  valid: Type.Boolean(),
  issues: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
})

export const HashParams = Type.Object({ file_hash: hexHash })
export const HashQuery = Type.Object(
  { namespace: Type.Optional(Type.String({ pattern: namespacePattern })) },
  { additionalProperties: false },
)
export const RecordsData = Type.Object({ file_hash: hexHash, records: Type.Array(StoredStampSchema) })

export const NamespaceParams = Type.Object({ namespace: Type.String({ pattern: namespacePattern }) })
export const NamespaceQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
)
export const NamespaceData = Type.Object({
  namespace: Type.String(),
  items: Type.Array(StoredStampSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
})
