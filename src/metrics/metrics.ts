import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** the values some gauges read at scrape time, each from the one subsystem that owns it */
export interface CollectSources {
  /** the node's views: peers with an open connection */
  peersConnected: () => number
  /** the node's views: healthy and ready (what /readyz answers) */
  ready: () => boolean
  /** the node's views: leaving the network (draining) */
  draining: () => boolean
  /** a worker's executor: its deduplication cache */
  dedup: () => { entries: number, bytes: number, windowMs: number }
  /** a worker's executor: tasks queued or running there, by capability */
  workByCapability: () => Record<string, number>
  /** a submitter: tasks waiting for room on a worker, by the capability they need */
  waitingByCapability: () => Record<string, number>
  /** a worker's executor: its queue depth per priority class */
  queueByClass: () => Record<string, number>
  /** libp2p (the relay role): reservations it holds for others */
  relayReservations: () => number
  /** libp2p: connections of this node that go through a relay */
  relayedConnections: () => number
  /** libp2p (the relay role): bytes carried through circuits so far */
  relayData: () => Promise<number>
}

/** Every metric this project defines, in one registry. Label values are bounded: never a peer id. */
export function createMetrics (registry: Registry) {
  const registers = [registry]
  // values read at scrape time from the subsystem that owns them: the owner registers its callback itself
  // (metrics.collectFrom), so each of these gauges has exactly one writer
  const sources: Partial<CollectSources> = {}
  const metrics = {
    registry,
    /** registers the owner's callback for a scrape-time value; returns the function that removes it */
    collectFrom<K extends keyof CollectSources>(key: K, source: CollectSources[K]): () => void {
      if (sources[key] != null) throw new Error(`metrics source ${key} registered twice`)
      sources[key] = source
      return () => { if (sources[key] === source) delete sources[key] }
    },
    peersConnected: new Gauge({ name: 'p2p_peers_connected', help: 'Peers with at least one open connection', registers, collect () { this.set(sources.peersConnected?.() ?? 0) } }),
    knownMembers: new Gauge({ name: 'p2p_known_members', help: 'Live members in the membership view, by role', labelNames: ['role'] as const, registers }),
    messagesPublished: new Counter({ name: 'p2p_messages_published_total', help: 'GossipSub messages this node published, by topic kind', labelNames: ['topic'] as const, registers }),
    messagesReceived: new Counter({ name: 'p2p_messages_received_total', help: 'Valid GossipSub messages received, by topic kind', labelNames: ['topic'] as const, registers }),
    invalidMessages: new Counter({ name: 'p2p_invalid_messages_total', help: 'Network messages dropped as invalid, by reason (decode, too_large, bad_field, wrong_sender, unsigned, stale, untrusted_role, bad_signature, not_allowed, table_full, new_member_rate, not_member, task_frame, task_answer, state_frame, state_timeout, state_not_member, state_unknown_service)', labelNames: ['reason'] as const, registers }),
    peerRtt: new Histogram({
      name: 'p2p_peer_rtt_seconds',
      help: 'Round-trip time of libp2p ping to connected peers',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    }),
    nodeHealthy: new Gauge({ name: 'p2p_node_healthy', help: '1 when this node is healthy and ready (GET /readyz answers 200), else 0', registers, collect () { this.set(sources.ready?.() === true ? 1 : 0) } }),
    nodeDraining: new Gauge({ name: 'p2p_node_draining', help: '1 while this node drains (SIGTERM or p2p-node drain): it takes no new task, hands its failover services on, and finishes the running tasks before it stops', registers, collect () { this.set(sources.draining?.() === true ? 1 : 0) } }),
    nodeInfo: new Gauge({ name: 'p2p_node_info', help: 'Constant 1, labelled with this node\'s role, version and name', labelNames: ['role', 'version', 'name'] as const, registers }),
    pings: new Counter({ name: 'p2p_pings_total', help: 'Pings to connected peers answered, by how they went: a ping frame of the connection\'s multiplexer (muxer) or a libp2p ping stream (stream)', labelNames: ['via'] as const, registers }),
    pingFailures: new Counter({ name: 'p2p_ping_failures_total', help: 'Failed pings to connected peers, by reason (timeout closes the connection after 3 in a row)', labelNames: ['reason'] as const, registers }),
    tasksSubmitted: new Counter({ name: 'p2p_tasks_submitted_total', help: 'Tasks submitted through this node, by type', labelNames: ['type'] as const, registers }),
    tasksCompleted: new Counter({ name: 'p2p_tasks_completed_total', help: 'Tasks this node submitted that finished, by type and outcome (ok, failed, cancelled)', labelNames: ['type', 'outcome'] as const, registers }),
    taskDuration: new Histogram({
      name: 'p2p_task_duration_seconds',
      help: 'Submit-to-result time of tasks submitted through this node, all attempts included',
      labelNames: ['type'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    }),
    journalErrors: new Counter({ name: 'p2p_task_journal_errors_total', help: 'Task journal writes that failed (a full or read-only disk): those tasks run with their records in memory only', registers }),
    tasksRefused: new Counter({ name: 'p2p_tasks_refused_total', help: 'Tasks this node refused to take (REPL, CLI, API), by reason', labelNames: ['reason'] as const, registers }),
    taskStreamsPaused: new Counter({ name: 'p2p_task_streams_paused_total', help: 'Inbound task streams paused because their submitter was not reading its answers (its unread answers passed the bound)', registers }),
    workersSetAside: new Counter({ name: 'p2p_task_workers_set_aside_total', help: 'Times the circuit breaker set a worker aside because attempts kept failing to reach it', registers }),
    taskRetries: new Counter({ name: 'p2p_task_retries_total', help: 'Task attempts retried on another worker, by reason (timeout, disconnect, busy, rejected, not_found, worker_timeout)', labelNames: ['reason'] as const, registers }),
    taskBacklog: new Gauge({
      name: 'p2p_task_backlog',
      help: 'Work for workers, by the capability it needs (any: every worker runs it): tasks queued or running on this worker plus tasks waiting at this node for room on one. Summed over the fleet and divided by what one worker takes, it is the number of workers needed (k8s/components/autoscaling)',
      labelNames: ['capability'] as const,
      registers,
      collect () {
        this.reset()
        const sum: Record<string, number> = {}
        for (const part of [sources.workByCapability?.() ?? {}, sources.waitingByCapability?.() ?? {}]) for (const [k, v] of Object.entries(part)) sum[k] = (sum[k] ?? 0) + v
        for (const [k, v] of Object.entries(sum)) this.set({ capability: k }, v)
      }
    }),
    taskQueueDepth: new Gauge({ name: 'p2p_task_queue_depth', help: 'Tasks waiting in this worker\'s queue', registers }),
    taskQueueDepthByClass: new Gauge({
      name: 'p2p_task_queue_depth_by_class', help: 'Tasks waiting in this worker\'s queue, by priority class (reward: 0, 1-9, 10-99, 100-999, 1000+)', labelNames: ['class'] as const, registers,
      collect () { const d = sources.queueByClass?.(); if (d != null) for (const [k, v] of Object.entries(d)) this.set({ class: k }, v) }
    }),
    taskCancelRequests: new Counter({ name: 'p2p_task_cancel_requests_total', help: 'Cancel requests this worker received, by what they found (queued: dropped; running: stopped; unknown: not here or finished; refused: not from the task\'s submitter)', labelNames: ['outcome'] as const, registers }),
    taskCancels: new Counter({ name: 'p2p_task_cancels_total', help: 'Cancels asked of this node (task cancel, DELETE /api/tasks/<id>), by outcome (cancelled; finished: it ended first; not_found; already: it had ended)', labelNames: ['outcome'] as const, registers }),
    tasksResumed: new Counter({ name: 'p2p_tasks_resumed_total', help: 'Tasks accepted with wait: false that this node took up again after a restart (from its task journal), by type', labelNames: ['type'] as const, registers }),
    taskProgressDropped: new Counter({ name: 'p2p_task_progress_dropped_total', help: 'Output frames of followed tasks not sent or not kept because the reader was behind (buffers stay bounded)', registers }),
    tasksRunning: new Gauge({ name: 'p2p_tasks_running', help: 'Tasks running on this worker now', registers }),
    tasksExecuted: new Counter({ name: 'p2p_tasks_executed_total', help: 'Task attempts this worker handled, by type and outcome (ok, error, timeout, busy, not_found, cancelled)', labelNames: ['type', 'outcome'] as const, registers }),
    taskRunSeconds: new Histogram({
      name: 'p2p_task_run_seconds', help: 'Time this worker spent running tasks, by type', labelNames: ['type'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60], registers
    }),
    taskDedupEntries: new Gauge({ name: 'p2p_task_dedup_entries', help: 'Task ids this worker remembers to answer repeats (bounded by tasks.dedup_ttl, dedup_max_entries, dedup_max_bytes)', registers, collect () { this.set(sources.dedup?.().entries ?? 0) } }),
    taskDedupBytes: new Gauge({ name: 'p2p_task_dedup_bytes', help: 'Bytes of answers held by the deduplication cache (estimate)', registers, collect () { this.set(sources.dedup?.().bytes ?? 0) } }),
    taskDedupWindow: new Gauge({ name: 'p2p_task_dedup_window_seconds', help: 'Age of the oldest remembered task id: a repeat older than this runs again', registers, collect () { this.set((sources.dedup?.().windowMs ?? 0) / 1000) } }),
    taskDuplicates: new Counter({ name: 'p2p_task_duplicates_total', help: 'Repeated task ids answered from the deduplication cache', registers }),
    rewardsEarned: new Counter({ name: 'p2p_rewards_earned_total', help: 'Reward credits this worker earned, by task type', labelNames: ['type'] as const, registers }),
    failoverActive: new Gauge({ name: 'p2p_failover_active', help: '1 while the supervised program runs on this member', labelNames: ['service'] as const, registers }),
    failoverTerm: new Gauge({ name: 'p2p_failover_term', help: 'Fencing term this member last held or saw', labelNames: ['service'] as const, registers }),
    failoverTransitions: new Counter({ name: 'p2p_failover_transitions_total', help: 'Failover transitions on this member, by reason (activated, handoff, health, preempted, lost_quorum, newer_term, stopping, fenced, crash_loop, hook_failed)', labelNames: ['service', 'reason'] as const, registers }),
    failoverMembers: new Gauge({ name: 'p2p_failover_members', help: 'Members of the group this member hears (itself included)', labelNames: ['service'] as const, registers }),
    failoverHealthy: new Gauge({ name: 'p2p_failover_healthy', help: '1 when this member is healthy for the service (check passing, no hold-down)', labelNames: ['service'] as const, registers }),
    accessDenied: new Counter({ name: 'p2p_access_denied_total', help: 'Requests and connections refused by an allowlist or the API, by what was refused (connection_inbound, connection_outbound, connection_dial, message_author, task, failover_member, infrastructure_role, api_no_token, api_bad_token, api_not_local, api_bad_host, api_cross_site, api_not_json, api_too_many_streams)', labelNames: ['what'] as const, registers }),
    eventClientsDropped: new Counter({ name: 'p2p_event_clients_dropped_total', help: 'GET /api/events and /api/tasks/<id>/events clients dropped for not keeping up (their unsent events passed the bound)', registers }),
    rateLimited: new Counter({ name: 'p2p_rate_limited_total', help: 'Requests refused by a per-peer rate limit, by what (task: answered BUSY; task_stream: the stream is reset)', labelNames: ['what'] as const, registers }),
    failoverHealthChecks: new Counter({ name: 'p2p_failover_health_checks_total', help: 'Health check runs, by outcome (ok, failed)', labelNames: ['service', 'outcome'] as const, registers }),
    failoverHooks: new Counter({ name: 'p2p_failover_hooks_total', help: 'Hook runs, by event and outcome (ok, failed, dry_run)', labelNames: ['service', 'event', 'outcome'] as const, registers }),
    failoverRestarts: new Counter({ name: 'p2p_failover_restarts_total', help: 'Restarts of a program that exited while active', labelNames: ['service'] as const, registers }),
    failoverStateSnapshots: new Counter({ name: 'p2p_failover_state_snapshots_total', help: 'State file snapshots: sent, send_failed, restored, and received ones by outcome (kept, stale, corrupt, too_large, not_the_active, active_here)', labelNames: ['service', 'outcome'] as const, registers }),
    membersGone: new Counter({ name: 'p2p_members_gone_total', help: 'Members declared gone after missing heartbeats', registers }),
    discoveredPeers: new Counter({ name: 'p2p_discovered_peers_total', help: 'Peers discovered (by mDNS, the DHT or a bootstrap), by what came with them (addresses: addresses to dial; id_only: the peer alone)', labelNames: ['source'] as const, registers }),
    bootstrapDials: new Counter({ name: 'p2p_bootstrap_dials_total', help: 'Dials to bootstrap addresses, by outcome (ok, error, dns_error, self)', labelNames: ['outcome'] as const, registers }),
    relaySearching: new Gauge({ name: 'p2p_relay_searching', help: '1 while this node wants a relay reservation and has none (it searches with backoff)', registers }),
    relaySearches: new Counter({ name: 'p2p_relay_searches_total', help: 'Rounds of the relay search, by outcome (candidates: known relays were tried; none: no relay known)', labelNames: ['outcome'] as const, registers }),
    relayReservations: new Gauge({ name: 'p2p_relay_reservations', help: 'The relay role: reservations it holds for other peers (relay.max_reservations at most)', registers, collect () { this.set(sources.relayReservations?.() ?? 0) } }),
    relayedConnections: new Gauge({ name: 'p2p_relayed_connections', help: 'Open connections of this node that go through a relay (/p2p-circuit)', registers, collect () { this.set(sources.relayedConnections?.() ?? 0) } }),
    relayReservationsHeld: new Gauge({ name: 'p2p_relay_reservations_held', help: 'Relays this node holds a reservation on (it announces a /p2p-circuit address through each)', registers }),
    reachability: new Gauge({ name: 'p2p_reachability', help: 'Whether others can dial this node (dial-back check by a bootstrap or relay): 1 for the current state (public, private, unknown)', labelNames: ['state'] as const, registers }),
    reachabilityChecks: new Counter({ name: 'p2p_reachability_checks_total', help: 'Dial-back checks this node asked for, by answer (reachable, unreachable, no_address, refused, error)', labelNames: ['outcome'] as const, registers }),
    dcutrUpgrades: new Counter({ name: 'p2p_dcutr_upgrades_total', help: 'DCUtR (hole punching) attempts on relayed connections, by outcome (direct: a direct connection replaced the relayed one; failed: the direct dial failed; no_address: no dialable address was exchanged)', labelNames: ['outcome'] as const, registers }),
    relayData: new Counter({ name: 'p2p_relay_data_bytes_total', help: 'The relay role: bytes carried through relayed connections (both directions)', registers, async collect () { const v = await sources.relayData?.(); if (v != null) { this.reset(); this.inc(v) } } }),
    memberSnapshots: new Counter({ name: 'p2p_member_snapshots_total', help: 'Member snapshots (the live members\' signed heartbeats, asked on connect), by outcome (answered: sent to a peer; received: asked and applied; failed; invalid)', labelNames: ['outcome'] as const, registers }),
    meshDials: new Counter({ name: 'p2p_mesh_dials_total', help: 'Dials to members learned from gossip, by address source (peerstore; heartbeat: the member\'s own; dht; relay: a circuit through a connected relay; direct_upgrade: a relayed member at its direct addresses) and outcome', labelNames: ['source', 'outcome'] as const, registers })
  }
  // series exist at 0 from the start, so rate() and alerts work before the first event
  for (const role of ['bootstrap', 'relay', 'worker']) metrics.knownMembers.set({ role }, 0)
  for (const reason of ['decode', 'too_large', 'bad_field', 'wrong_sender', 'unsigned', 'stale']) metrics.invalidMessages.inc({ reason }, 0)
  for (const outcome of ['direct', 'failed', 'no_address']) metrics.dcutrUpgrades.inc({ outcome }, 0)
  for (const topic of ['heartbeat', 'capabilities']) {
    metrics.messagesPublished.inc({ topic }, 0)
    metrics.messagesReceived.inc({ topic }, 0)
  }
  return metrics
}

export type Metrics = ReturnType<typeof createMetrics>
