import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import EvaluationView from '../../src/views/EvaluationView.vue'
import * as api from '../../src/api/client'
import { comparisonData, curvesData, heatmapData } from '../../src/charts/evaluation'
import { evaluationReport, evaluationSummary } from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  listEvaluations: vi.fn(),
  evaluationReport: vi.fn(),
}))

// jsdom has no canvas: each chart renders as an element carrying what it was given.
vi.mock('vue-chartjs', () => {
  const stub = (kind: string) =>
    defineComponent({
      props: ['data', 'options', 'type'],
      setup: (props) => () =>
        h('div', {
          'data-chart': props.type ?? kind,
          'data-points': JSON.stringify(
            props.data.datasets.map((d: { data: unknown[] }) => d.data.length),
          ),
        }),
    })
  return { Bar: stub('bar'), Line: stub('line'), Chart: stub('chart') }
})

const report = (name: string, f1s: [number, number], history?: Record<string, number[]>) =>
  evaluationReport(name, f1s, {
    model: { architecture: 'SmallCNN', parameters: name === 'teacher' ? 70000 : 9000 },
    ...(history && { history }),
  })

beforeEach(() => {
  vi.resetAllMocks()
  vi.mocked(api.listEvaluations).mockResolvedValue({
    models: [report('teacher', [0.857, 0.75]), report('student', [0.8, 0.7])].map(
      evaluationSummary,
    ),
  })
  vi.mocked(api.evaluationReport).mockImplementation(async (name) =>
    name === 'teacher' ? report('teacher', [0.857, 0.75]) : report('student', [0.8, 0.7], {}),
  )
})

describe('evaluation charts', () => {
  it('turn the confusion matrix into one heat-map cell per (true, predicted) pair', () => {
    const cells = heatmapData(report('teacher', [0.857, 0.75])).datasets[0].data
    expect(cells).toEqual([
      { x: 'a', y: 'a', v: 5 },
      { x: 'b', y: 'a', v: 0 },
      { x: 'a', y: 'b', v: 2 },
      { x: 'b', y: 'b', v: 3 },
    ])
  })

  it('draw losses and accuracies on their own axes, and per-class F1 side by side', () => {
    const curves = curvesData({ epoch: [1, 2], train_loss: [1, 0.5], val_accuracy: [0.5, 0.9] })
    expect(curves.labels).toEqual([1, 2])
    expect(curves.datasets.map((d) => [d.label, d.yAxisID])).toEqual([
      ['train_loss', 'loss'],
      ['val_accuracy', 'accuracy'],
    ])
    const bars = comparisonData(report('teacher', [0.857, 0.75]), report('student', [0.8, 0.7]))
    expect(bars.datasets.map((d) => [d.label, d.data])).toEqual([
      ['teacher F1', [0.857, 0.75]],
      ['student F1', [0.8, 0.7]],
    ])
  })
})

describe('evaluation page', () => {
  it('shows the first model: scores per class, heat map, curves and the mistakes, enlarged on click', async () => {
    const wrapper = mount(EvaluationView)
    await flushPromises()
    expect(api.evaluationReport).toHaveBeenCalledWith('teacher')
    expect(wrapper.findAll('[data-test="per-class-row"]').map((row) => row.text())).toEqual([
      'a0.7501.0000.8575',
      'b1.0000.6000.7505',
    ])
    expect(
      wrapper.find('[data-test="heatmap"] [data-chart="matrix"]').attributes('data-points'),
    ).toBe('[4]')
    expect(wrapper.find('[data-test="curves"] [data-chart="line"]').attributes('data-points')).toBe(
      '[3,3]',
    )
    const thumbs = wrapper.findAll('[data-test="misclassified"]')
    expect(thumbs.map((thumb) => thumb.text())).toEqual(['true b → a91.0%', 'true b → a62.0%'])
    expect(wrapper.find('[data-test="lightbox"]').exists()).toBe(false)
    await thumbs[1].trigger('click')
    const lightbox = wrapper.find('[data-test="lightbox"]')
    expect(lightbox.find('img').attributes('src')).toBe('/api/evaluation/teacher/misclassified/1')
    expect(lightbox.text()).toContain('62.0% confidence')
    await lightbox.trigger('click')
    expect(wrapper.find('[data-test="lightbox"]').exists()).toBe(false)
  })

  it('compares teacher and student side by side, and says when a model has no curves', async () => {
    const wrapper = mount(EvaluationView)
    await flushPromises()
    const table = wrapper.find('[data-test="comparison"]')
    expect(table.find('thead').text()).toBe('teacherstudent')
    expect(table.text()).toContain('parameters70,0009,000')
    expect(
      wrapper.find('[data-test="comparison-chart"] [data-chart="bar"]').attributes('data-points'),
    ).toBe('[2,2]')
    await wrapper.find('[data-test="model-select"]').setValue('student')
    await flushPromises()
    expect(wrapper.find('[data-test="no-curves"]').exists()).toBe(true)
  })

  it('explains an error from the backend', async () => {
    vi.mocked(api.listEvaluations).mockRejectedValue(
      new Error('Cannot reach the backend. Is the server running?'),
    )
    const wrapper = mount(EvaluationView)
    await flushPromises()
    expect(wrapper.find('[data-test="error"]').text()).toBe(
      'Cannot reach the backend. Is the server running?',
    )
  })
})
