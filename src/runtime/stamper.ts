import { publishedTopics } from '../core/contracts/parse.ts'
import type { NodeContract } from '../core/contracts/schema.ts'
import type { EnvelopeSource } from '../core/events/envelope.ts'
import type { Environment } from '../core/events/topics.ts'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { StampingEvents } from '../nodes/stamping/events.ts'
import { StampingService } from '../nodes/stamping/service.ts'
import { StampStore } from '../nodes/stamping/store.ts'
import type { Clock } from '../ports/clock.ts'
import type { Database } from '../ports/database.ts'
import type { Outbox } from '../ports/outbox.ts'
import type { Stamper } from '../ports/stamper.ts'

export interface StamperDeps {
  db: Database
  blake3: Blake3
  clock: Clock
  outbox: Outbox
  /** The stamping node's source and contract: its stamps are the stamping node's, wherever made. */
  source: EnvelopeSource
  environment: Environment
  stampingContract: NodeContract
}

/**
 * The Stamper port (what the orchestrator's stamp_creation step calls) on the stamping node's own
 * StampingService, built here whether or not this process hosts the stamping node: a workflow's stamp
 * is then exactly a POST /stamp stamp (same row, same identity rules, one METADATA_STAMP_CREATED from
 * `stamping@host`), and the orchestrator never imports the stamping node.
 */
export function createStamper(deps: StamperDeps): Stamper {
  const service = new StampingService({
    store: new StampStore(deps.db),
    blake3: deps.blake3,
    clock: deps.clock,
    outbox: deps.outbox,
    events: new StampingEvents(
      { source: deps.source, environment: deps.environment, topics: publishedTopics(deps.stampingContract) },
      deps.clock,
    ),
    // the orchestrator stamps through stampMany: batch settings do not apply
    options: { batchConcurrency: 1 },
  })
  return {
    async stampMany(items, tx) {
      const outcomes = await service.stampMany(items, tx)
      return outcomes.map((o) => ({
        fileHash: o.fileHash,
        namespace: o.record.namespace,
        stampType: o.stampType,
        contentType: o.record.content_type,
        fileSize: o.record.file_size,
        fileKind: o.fileKind,
        created: o.created,
        stampedContent: o.stampedContent,
        sidecar: o.sidecar ? { ...o.sidecar } : null,
        recordId: o.record.id,
        uid: String(o.record.stamp_data['uid']),
      }))
    },
  }
}
