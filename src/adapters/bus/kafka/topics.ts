import { setTimeout as sleep } from 'node:timers/promises'
import { type Admin, findErrorBy } from '@platformatic/kafka'
import { mapWithConcurrency } from '../../../core/concurrency.ts'
import { UnavailableError } from '../../../core/errors.ts'
import type { TopicSettings } from '../../../ports/event-bus.ts'
import { describe, toBusError } from './errors.ts'

/** Longest ensureTopics waits for new topics to get a leader. */
const LEADER_WAIT_MS = 15_000

/**
 * Creates topics through the admin client: each missing one with its partitions, the broker's default
 * replication factor and `retention.ms`; a topic that exists already (or that another process created
 * meanwhile) is left as it is. Resolves once every topic has a leader for each partition, so that the
 * first publish does not race the creation. Topics seen to exist are remembered.
 */
export class KafkaTopics {
  readonly #admin: Admin
  readonly #known = new Set<string>()

  constructor(admin: Admin) {
    this.#admin = admin
  }

  async ensure(topics: readonly TopicSettings[]): Promise<void> {
    const wanted = topics.filter((t) => !this.#known.has(t.topic))
    if (wanted.length === 0) return
    let existing: Set<string>
    try {
      existing = new Set(await this.#admin.listTopics())
    } catch (error) {
      throw toBusError(error, 'ensureTopics')
    }
    const missing = wanted.filter((t) => !existing.has(t.topic))
    await mapWithConcurrency(missing, 8, (t) => this.#create(t))
    await this.#waitForLeaders(wanted.map((t) => t.topic))
    for (const t of wanted) this.#known.add(t.topic)
  }

  async #create(t: TopicSettings): Promise<void> {
    try {
      await this.#admin.createTopics({
        topics: [{ topic: t.topic, partitions: t.partitions }],
        configs: [{ name: 'retention.ms', value: String(t.retentionMs) }],
      })
    } catch (error) {
      if (findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS')) return
      throw toBusError(error, `creating topic ${t.topic}`)
    }
  }

  async #waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + LEADER_WAIT_MS
    let last: unknown
    while (Date.now() < deadline) {
      try {
        const metadata = await this.#admin.metadata({ topics, forceUpdate: true })
        const ready = topics.every((name) => {
          const topic = metadata.topics.get(name)
          return topic?.partitions.every((p) => p !== undefined && p.leader >= 0) === true
        })
        if (ready) return
        last = 'some partitions have no leader yet'
      } catch (error) {
        last = error
      }
      await sleep(100)
    }
    throw new UnavailableError(
      `ensureTopics: topics without a leader after ${LEADER_WAIT_MS} ms (${describe(last)})`,
    )
  }
}
