// Real containers with Podman, set up as scripts/podman-env.sh sets it for this kind of machine (runc, cgroupfs,
// ulimits the host allows). The e2e container tests build the image with ./build.sh and run it.
import { execFile, execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './cluster.js'

/** why containers cannot run here, or undefined when they can */
export function cannotRunContainers (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (Podman with runc and cgroupfs, as CI runs)'
  try { execFileSync('podman', ['--version'], { stdio: 'ignore' }) } catch { return 'podman is not installed (./scripts/ensure-deps.sh installs it as root)' }
  try { execFileSync('mmdebstrap', ['--version'], { stdio: 'ignore' }) } catch { return 'mmdebstrap is not installed (the offline base image needs it)' }
  return undefined
}

/** runs podman with the project's settings; resolves with stdout, rejects with stderr in the message */
export async function podman (args: string[], opts: { input?: string, timeoutMs?: number, withStderr?: boolean } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = execFile('bash', ['-c', `. ${join(ROOT, 'scripts/podman-env.sh')} && exec podman "$@"`, 'podman', ...args], { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 ** 2 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`podman ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve(opts.withStderr === true ? stdout + stderr : stdout)
    })
    if (opts.input != null) child.stdin?.end(opts.input)
    else child.stdin?.end()
  })
}

/** the same, ignoring failure (cleanup) */
export async function podmanQuiet (args: string[]): Promise<void> {
  await podman(args).catch(() => {})
}
