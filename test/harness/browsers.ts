// The system browsers the console's tests and benchmark drive (Debian's packages, installed by
// scripts/ensure-deps.sh); undefined when one is not installed.
import { existsSync } from 'node:fs'

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => existsSync(p))
export const FIREFOX = ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find(p => existsSync(p))
