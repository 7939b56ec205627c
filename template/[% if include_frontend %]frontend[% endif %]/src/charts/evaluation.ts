// Chart.js data and options for the Evaluation page, built from /api/evaluation reports.
// Pure functions: the components only hand them to vue-chartjs.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartData,
  type ChartOptions,
  type ScriptableContext,
  type TooltipItem,
} from 'chart.js'
import { MatrixController, MatrixElement, type MatrixDataPoint } from 'chartjs-chart-matrix'
import type { EvaluationReport } from '../api/client'

// Only what these charts use: Chart.js is tree-shakeable.
Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  MatrixController,
  MatrixElement,
)

const CURVE_COLOURS = ['#2680c2', '#e12d39', '#27ab83', '#f0b429', '#8719e0']

// Confusion matrix as a heat map: one cell per (true, predicted) pair, darker = more images.
// Rows are true classes (top to bottom), columns predicted classes, as in the report.
type Cell = MatrixDataPoint & { x: string; y: string; v: number }

export function heatmapData(
  report: Pick<EvaluationReport, 'classes' | 'confusion'>,
): ChartData<'matrix', Cell[]> {
  const { classes, confusion } = report
  const max = Math.max(1, ...confusion.flat())
  const cells = confusion.flatMap((row, t) =>
    row.map((count, p) => ({ x: classes[p] ?? '', y: classes[t] ?? '', v: count })),
  )
  return {
    datasets: [
      {
        label: 'test images',
        data: cells,
        backgroundColor: (context: ScriptableContext<'matrix'>) => {
          const cell = context.dataset.data[context.dataIndex] as Cell | undefined
          const alpha = cell ? 0.08 + 0.92 * (cell.v / max) : 0
          return cell && cell.x !== cell.y && cell.v
            ? `rgba(225, 45, 57, ${alpha})`
            : `rgba(38, 128, 194, ${alpha})`
        },
        borderColor: '#d9e2ec',
        borderWidth: 1,
        width: ({ chart }) => (chart.chartArea?.width ?? 0) / classes.length - 1,
        height: ({ chart }) => (chart.chartArea?.height ?? 0) / classes.length - 1,
      },
    ],
  }
}

export function heatmapOptions(report: Pick<EvaluationReport, 'classes'>): ChartOptions<'matrix'> {
  const { classes } = report
  return {
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          title: () => '',
          label: (item: TooltipItem<'matrix'>) => {
            const cell = item.raw as Cell
            return `true ${cell.y} → predicted ${cell.x}: ${cell.v}`
          },
        },
      },
    },
    scales: {
      x: {
        type: 'category',
        labels: classes,
        offset: true,
        title: { display: true, text: 'predicted' },
        grid: { display: false },
      },
      // the first class on top, as the matrix is written
      y: {
        type: 'category',
        labels: classes,
        offset: true,
        reverse: true,
        title: { display: true, text: 'true' },
        grid: { display: false },
      },
    },
  }
}

// Training curves: one line per column of the history except `epoch`; losses on the left axis,
// accuracies (0..1) on the right.
export function curvesData(history: Record<string, number[]>): ChartData<'line'> {
  const epochs = history.epoch ?? []
  const series = Object.keys(history).filter((key) => key !== 'epoch')
  return {
    labels: epochs,
    datasets: series.map((key, i) => ({
      label: key,
      data: history[key] ?? [],
      borderColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
      backgroundColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
      yAxisID: key.includes('acc') ? 'accuracy' : 'loss',
      tension: 0.2,
    })),
  }
}

export const curvesOptions: ChartOptions<'line'> = {
  maintainAspectRatio: false,
  animation: false,
  scales: {
    x: { title: { display: true, text: 'epoch' } },
    loss: { type: 'linear', position: 'left', title: { display: true, text: 'loss' } },
    accuracy: {
      type: 'linear',
      position: 'right',
      min: 0,
      max: 1,
      title: { display: true, text: 'accuracy' },
      grid: { drawOnChartArea: false },
    },
  },
}

// Two models side by side: per-class F1 as grouped bars.
type Comparable = Pick<EvaluationReport, 'name' | 'classes' | 'per_class'>

export function comparisonData(left: Comparable, right: Comparable): ChartData<'bar'> {
  return {
    labels: left.classes,
    datasets: [left, right].map((report, i) => ({
      label: `${report.name} F1`,
      data: left.classes.map((name) => report.per_class.find((row) => row.class === name)?.f1 ?? 0),
      backgroundColor: CURVE_COLOURS[i],
    })),
  }
}

export const comparisonOptions: ChartOptions<'bar'> = {
  maintainAspectRatio: false,
  animation: false,
  scales: { y: { min: 0, max: 1, title: { display: true, text: 'F1 (test split)' } } },
}
