/** The most words and characters one REPL line may have. */
export const MAX_LINE = 64 * 1024

export type ParsedLine = { ok: true, words: string[] } | { ok: false, error: string }

/**
 * Splits a REPL line into words, shell-like: whitespace separates, '…' and "…" group, backslash escapes
 * the next character (outside single quotes). Never throws; an unclosed quote is an error.
 */
export function parseLine (line: string): ParsedLine {
  if (line.length > MAX_LINE) return { ok: false, error: `line longer than ${MAX_LINE} characters` }
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else word += ch
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (quote === '"') {
      if (ch === '"') quote = undefined
      else word += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote != null) return { ok: false, error: `unclosed ${quote} quote` }
  if (inWord) words.push(word)
  return { ok: true, words }
}
