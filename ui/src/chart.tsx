// A time-series chart: uPlot on a canvas, sized to its box, colours from the page's theme.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export interface Series { label: string, values: Array<number | null>, color: string, unit?: string }

interface Props {
  title: string
  /** seconds since the epoch */
  times: number[]
  series: Series[]
  height?: number
}

function themeColor (name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}

export function Chart ({ title, times, series, height = 160 }: Props): preact.JSX.Element {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const key = series.map(s => s.label).join('|')

  useEffect(() => {
    const el = box.current
    if (el == null) return
    const axis = themeColor('--muted', '#888')
    const grid = themeColor('--grid', 'rgba(128,128,128,0.2)')
    const fmt = (u?: string) => (_: uPlot, v: number | null) => v == null ? '—' : `${Number.isInteger(v) ? v : v.toFixed(1)}${u != null ? ` ${u}` : ''}`
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      // the legend names the series; values show on hover
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 56 }
      ],
      series: [{}, ...series.map(s => ({ label: s.label, stroke: s.color, width: 2, value: fmt(s.unit), spanGaps: true }))]
    }
    plot.current = new uPlot(opts, [times, ...series.map(s => s.values)] as uPlot.AlignedData, el)
    const resize = new ResizeObserver(() => { plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }) })
    resize.observe(el)
    return () => { resize.disconnect(); plot.current?.destroy(); plot.current = null }
  }, [key, height])

  useEffect(() => {
    plot.current?.setData([times, ...series.map(s => s.values)] as uPlot.AlignedData)
  }, [times, series])

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  )
}
