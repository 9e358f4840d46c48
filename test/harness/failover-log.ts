// The failover checker, shared by tests and stress-test.sh: a supervised program appends
// `<member> <epoch ms> <term>` to one log every few ms while it runs; from those stamps this finds each member's
// running intervals, any overlap between members, and the gaps at each change of holder.
import { readFileSync } from 'node:fs'

export interface Stamp { who: string, ms: number, term: number }
export interface Interval { who: string, start: number, end: number, term: number }

/** the program to supervise: stamps every 20 ms; `WHO` names the member */
export function stampingProgram (log: string): string[] {
  return ['sh', '-c', `trap 'exit 0' TERM; while :; do echo "$WHO $(date +%s%3N) $P2P_FAILOVER_TERM" >> ${log}; sleep 0.02; done`]
}

export function readStamps (log: string): Stamp[] {
  let text = ''
  try { text = readFileSync(log, 'utf8') } catch { return [] }
  return text.split('\n').map(l => l.split(' '))
    // a program killed in the middle of `date` writes a line without a time: not a stamp
    .filter(f => f.length === 3 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2]))
    .map(([who, ms, term]) => ({ who, ms: Number(ms), term: Number(term) }))
}

/** each member's running intervals (a gap over `splitMs` or a new term starts a new one) */
export function intervals (stamps: Stamp[], splitMs = 150): Interval[] {
  const out: Interval[] = []
  const open = new Map<string, Interval>()
  for (const s of [...stamps].sort((a, b) => a.ms - b.ms)) {
    const cur = open.get(s.who)
    if (cur != null && s.ms - cur.end <= splitMs && s.term === cur.term) { cur.end = s.ms; continue }
    const next = { who: s.who, start: s.ms, end: s.ms, term: s.term }
    out.push(next)
    open.set(s.who, next)
  }
  return out.sort((a, b) => a.start - b.start)
}

/** pairs of intervals of different members that overlap in time: must be empty */
export function overlaps (list: Interval[]): Array<[Interval, Interval]> {
  const out: Array<[Interval, Interval]> = []
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length && list[j].start <= list[i].end; j++) {
      if (list[i].who !== list[j].who) out.push([list[i], list[j]])
    }
  }
  return out
}

/** changes of holder where the term did not go up: must be empty */
export function termRegressions (list: Interval[]): Array<[Interval, Interval]> {
  const out: Array<[Interval, Interval]> = []
  for (let i = 1; i < list.length; i++) if (list[i].who !== list[i - 1].who && list[i].term <= list[i - 1].term) out.push([list[i - 1], list[i]])
  return out
}

/** the gap (ms) at each change of holder: from the old holder's last stamp to the new one's first */
export function handovers (list: Interval[]): Array<{ from: string, to: string, at: number, gapMs: number }> {
  const out = []
  for (let i = 1; i < list.length; i++) {
    if (list[i].who !== list[i - 1].who) out.push({ from: list[i - 1].who, to: list[i].who, at: list[i].start, gapMs: list[i].start - list[i - 1].end })
  }
  return out
}
