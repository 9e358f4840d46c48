import { execFileSync } from 'node:child_process'
import pWaitFor from 'p-wait-for'

export function hasTmux (): boolean {
  try { execFileSync('tmux', ['-V'], { stdio: 'ignore' }); return true } catch { return false }
}

/** A terminal session a test types into and reads from, like a person at a keyboard. */
export class Terminal {
  private readonly socket = `p2p-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  readonly name = 'repl'

  constructor (command: string[], cwd: string) {
    this.tmux('new-session', '-d', '-s', this.name, '-x', '220', '-y', '60', '-c', cwd, ...command)
  }

  private tmux (...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' })
  }

  /** types text (no Enter) */
  type (text: string): void { this.tmux('send-keys', '-t', this.name, '-l', text) }
  key (...keys: string[]): void { this.tmux('send-keys', '-t', this.name, ...keys) }
  screen (): string {
    try { return this.tmux('capture-pane', '-p', '-t', this.name, '-S', '-200') } catch { return '' }
  }

  alive (): boolean {
    try { this.tmux('has-session', '-t', this.name); return true } catch { return false }
  }

  async waitFor (pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    await pWaitFor(() => pattern.test(this.screen()), { interval: 100, timeout: { milliseconds: timeoutMs, message: `screen never matched ${pattern}:\n${this.screen()}` } })
    return this.screen()
  }

  close (): void { try { this.tmux('kill-server') } catch {} }
}
