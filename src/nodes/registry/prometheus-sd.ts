import type { Registration } from './store.ts'

/** One target group of Prometheus HTTP service discovery (https://prometheus.io/docs/prometheus/latest/http_sd/). */
export interface TargetGroup {
  targets: string[]
  labels: Record<string, string>
}

/**
 * The registry's live nodes as Prometheus target groups: one group per node that announced a metrics
 * endpoint, its address as the target, the path and scheme as `__metrics_path__` / `__scheme__`, and
 * what the registry knows as `__meta_omninode_*` labels (for relabelling; Prometheus drops them unless
 * a relabel rule keeps them). A node without a parsable metrics URL is left out.
 */
export function prometheusTargets(nodes: readonly Registration[]): TargetGroup[] {
  const groups: TargetGroup[] = []
  for (const n of nodes) {
    const raw = n.endpoints.metrics
    if (!raw) continue
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      continue
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue
    groups.push({
      targets: [url.host],
      labels: {
        __metrics_path__: url.pathname + url.search,
        __scheme__: url.protocol.slice(0, -1),
        __meta_omninode_node_id: n.node_id,
        __meta_omninode_node_type: n.node_type,
        __meta_omninode_node_role: n.node_role ?? '',
        __meta_omninode_namespace: n.namespace,
        __meta_omninode_health_status: n.health_status,
        __meta_omninode_node_version: n.node_version,
      },
    })
  }
  return groups
}
