import type { TopologyDiff, TopologyNode, TopologySnapshot } from './payloads.ts'

export type DiffOutcome =
  /** The diff was the next version and is applied. */
  | 'applied'
  /** Already seen (a duplicate or a replay): nothing changes. */
  | 'stale'
  /** A version is missing between the mirror and the diff: resync from a snapshot. */
  | 'gap'

/**
 * A local copy of the registry's topology, kept current by applying TOPOLOGY_DIFFs in version order.
 * Versions are gapless, so a diff whose previous_version is not the mirror's version means one was
 * missed: the mirror refuses it ('gap') and the owner resyncs from a snapshot. Pure: no I/O.
 */
export class TopologyMirror {
  #version = 0
  #nodes = new Map<string, TopologyNode>()
  #synced = false

  get version(): number {
    return this.#version
  }

  /** Whether a snapshot was loaded (before it, every diff is a gap). */
  get synced(): boolean {
    return this.#synced
  }

  get nodes(): TopologyNode[] {
    return [...this.#nodes.values()]
  }

  node(id: string): TopologyNode | undefined {
    return this.#nodes.get(id)
  }

  reset(snapshot: TopologySnapshot): void {
    this.#version = snapshot.topology_version
    this.#nodes = new Map(snapshot.nodes.map((n) => [n.node_id, n]))
    this.#synced = true
  }

  apply(diff: TopologyDiff): DiffOutcome {
    if (!this.#synced) return 'gap'
    if (diff.topology_version <= this.#version) return 'stale'
    if (diff.previous_version !== this.#version) return 'gap'
    for (const change of diff.changes) {
      if (change.change_type === 'removed') this.#nodes.delete(change.node_id)
      else if (change.node) this.#nodes.set(change.node_id, change.node)
    }
    this.#version = diff.topology_version
    return 'applied'
  }
}

/** How a TopologyClient reaches a registry; the caller supplies the I/O (HTTP, the bus, a test). */
export interface TopologySource {
  snapshot(): Promise<TopologySnapshot>
  /** The diffs after `since`, in order; undefined when the registry no longer keeps them (HTTP 410). */
  diffsSince(since: number): Promise<TopologyDiff[] | undefined>
}

/**
 * A mirror that heals itself: a diff after a gap first fetches the missing diffs, and when the registry
 * no longer keeps them, reloads the snapshot. Feed it diffs from any stream (SSE, the bus) with `receive`.
 */
export class TopologyClient {
  readonly mirror = new TopologyMirror()
  /** How many times the client reloaded the snapshot (1 after the first sync). */
  resyncs = 0
  #source: TopologySource
  #queue: Promise<void> = Promise.resolve()

  constructor(source: TopologySource) {
    this.#source = source
  }

  /** Loads the snapshot. */
  sync(): Promise<void> {
    return this.#serial(() => this.#resync())
  }

  /** Applies a diff, catching up first when it is not the next version. Diffs are handled in call order. */
  receive(diff: TopologyDiff): Promise<DiffOutcome> {
    return this.#serial(async () => {
      const outcome = this.mirror.apply(diff)
      if (outcome !== 'gap') return outcome
      await this.#catchUp()
      // After catching up the diff is either applied by the fetched range, or next
      const again = this.mirror.apply(diff)
      if (again === 'gap') await this.#resync()
      return 'gap'
    })
  }

  async #catchUp(): Promise<void> {
    if (!this.mirror.synced) return this.#resync()
    const diffs = await this.#source.diffsSince(this.mirror.version)
    if (diffs === undefined) return this.#resync()
    for (const d of diffs) {
      if (this.mirror.apply(d) === 'gap') return this.#resync()
    }
  }

  async #resync(): Promise<void> {
    this.mirror.reset(await this.#source.snapshot())
    this.resyncs++
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn)
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }
}
