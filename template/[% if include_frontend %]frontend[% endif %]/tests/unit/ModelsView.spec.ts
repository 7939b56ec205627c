import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import ModelsView from '../../src/views/ModelsView.vue'
import * as api from '../../src/api/client'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  listModels: vi.fn(),
  predictionLog: vi.fn(),
  queueLowConfidence: vi.fn(),
}))

const summary = (ready: number) => ({
  enabled: true, keep_images: true, auto_queue: false, max_rows: 10000,
  threshold: 0.6, logged: 40, low_confidence: 3, ready_to_queue: ready,
})

beforeEach(() => {
  vi.resetAllMocks()
  vi.mocked(api.listModels).mockResolvedValue({ models: [], serving: 'v1', engine: 'onnxruntime' })
  vi.mocked(api.predictionLog)
    .mockResolvedValueOnce({ summary: summary(3), predictions: [] })
    .mockResolvedValue({ summary: summary(0), predictions: [] })
  vi.mocked(api.queueLowConfidence).mockResolvedValue({ queued: 2, duplicates: 1, skipped: 0 })
})

describe('models page', () => {
  it('sends the logged low-confidence predictions to the annotation queue with one click', async () => {
    const wrapper = mount(ModelsView, { global: { stubs: ['RouterLink'] } })
    await flushPromises()
    expect(wrapper.find('[data-test="low-confidence"]').text()).toBe('3')
    const button = wrapper.find('[data-test="queue-low-confidence"]')
    expect(button.attributes('disabled')).toBeUndefined()
    await button.trigger('click')
    await flushPromises()
    expect(api.queueLowConfidence).toHaveBeenCalledTimes(1)
    expect(wrapper.find('[data-test="log-notice"]').text()).toBe(
      '2 queued for annotation, 1 already queued, 0 without a kept image',
    )
    expect(wrapper.find('[data-test="queue-low-confidence"]').attributes('disabled')).toBeDefined()
  })
})
