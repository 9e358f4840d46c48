import type { P2PNode } from '../node/node.js'

/** A command the daemon answers, over the control socket, the HTTP API or the in-process REPL. */
export type CommandHandler = (args: string[]) => Promise<unknown> | unknown

export const COMMAND_NAMES = ['help', 'peers', 'status', 'capabilities', 'quit'] as const

/** The daemon-side command table; the REPL's local commands (help, quit) are handled in cli/. */
export function createCommands (node: P2PNode): Record<string, CommandHandler> {
  return {
    status: () => node.status(),
    peers: async () => await node.peers(),
    capabilities: () => node.capabilities()
  }
}
