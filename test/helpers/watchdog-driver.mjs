// Plays the node's part for the watchdog tests: starts a program through a watchdog and renews its lease
// every `renewMs` (0: never). Prints {"pgid":P,"watchdog":W} once the program runs.
import { WatchdogClient } from '../../dist/failover/watchdog-client.js'

const [leaseMs, renewMs, ...argv] = process.argv.slice(2)
// the program's stdout goes nowhere: the only lines on ours are the events the client reports
const client = new WatchdogClient(undefined, undefined, 'ignore')
await client.ready
const pgid = await client.start(argv, Number(leaseMs))
process.stdout.write(JSON.stringify({ pgid, watchdog: client.pid }) + '\n')
client.on(e => { process.stdout.write(JSON.stringify(e) + '\n') })
if (Number(renewMs) > 0) setInterval(() => { client.renew(Number(leaseMs)) }, Number(renewMs))
process.stdin.on('data', d => { if (String(d).trim() === 'stop') void client.stop(300) })
