// The shapes the console reads from the node's HTTP API: the node's own types (src/messages/api.ts), imported,
// never copied, so a field the node renames or retypes fails the console's build.
export type {
  PeerView as Peer,
  StatusView as Status,
  TaskSummary,
  TaskResultView as TaskResult,
  TaskRecord,
  Holding,
  FailoverStatus,
  HistorySample as Sample,
  TopologyView as Topology,
  LogLine,
  CapabilitiesView as Capabilities
} from '../../src/messages/api.js'
