import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import ModelsView from '../../src/views/ModelsView.vue'
import * as api from '../../src/api/client'
import { resetSession } from '../../src/composables/useSession'
import {
  account,
  lowConfidenceQueued,
  modelList,
  modelVersion,
  predictionLog,
  servingSelection,
  sessionState,
} from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  listModels: vi.fn(),
  activateModel: vi.fn(),
  predictionLog: vi.fn(),
  queueLowConfidence: vi.fn(),
  fetchSession: vi.fn(),
}))

beforeEach(() => {
  vi.resetAllMocks()
  resetSession()
  vi.mocked(api.fetchSession).mockResolvedValue(sessionState({ user: account() }))
  vi.mocked(api.listModels).mockResolvedValue(modelList({ serving: 'v1', engine: 'onnxruntime' }))
  vi.mocked(api.predictionLog)
    .mockResolvedValueOnce(predictionLog({ logged: 40, low_confidence: 3, ready_to_queue: 3 }))
    .mockResolvedValue(predictionLog({ logged: 40, low_confidence: 3, ready_to_queue: 0 }))
  vi.mocked(api.queueLowConfidence).mockResolvedValue(
    lowConfidenceQueued({ queued: 2, duplicates: 1, skipped: 0 }),
  )
})

describe('models page', () => {
  it('says which candidate serves on this host, why, and what each measured', async () => {
    vi.mocked(api.listModels).mockResolvedValue(
      modelList({ serving: 'v1', engine: 'openvino', selection: servingSelection() }),
    )
    const wrapper = mount(ModelsView, { global: { stubs: ['RouterLink'] } })
    await flushPromises()
    expect(wrapper.find('[data-test="chosen"]').text()).toBe('openvino/int8')
    expect(wrapper.find('[data-test="selection"]').text()).toContain('3.10x onnxruntime/fp32')
    const trials = wrapper.findAll('[data-test="trial"]').map((row) => row.text())
    expect(trials).toHaveLength(3)
    expect(trials[1]).toContain('0.200 ms')
    expect(trials[2]).toContain('not served: golden set FAILED')
  })

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

  it('asks an anonymous visitor to log in instead of reading the prediction log', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(sessionState())
    const wrapper = mount(ModelsView, { global: { stubs: ['RouterLink'] } })
    await flushPromises()
    expect(api.predictionLog).not.toHaveBeenCalled()
    expect(wrapper.find('[data-test="log-needs-login"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="error"]').exists()).toBe(false)
  })

  it('lets an admin activate another version', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(
      sessionState({ user: account({ username: 'adam', role: 'admin' }) }),
    )
    const v1 = modelVersion({ id: 1, version: 'v1', active: true })
    const v2 = modelVersion({ id: 2, version: 'v2', active: false })
    vi.mocked(api.listModels)
      .mockResolvedValueOnce(modelList({ models: [v1, v2], serving: 'v1' }))
      .mockResolvedValue(
        modelList({
          models: [
            { ...v1, active: false },
            { ...v2, active: true },
          ],
          serving: 'v2',
        }),
      )
    vi.mocked(api.activateModel).mockResolvedValue({ ...v2, active: true })
    const wrapper = mount(ModelsView, { global: { stubs: ['RouterLink'] } })
    await flushPromises()
    const buttons = wrapper.findAll('[data-test="activate"]')
    expect(buttons).toHaveLength(1)
    await buttons[0]!.trigger('click')
    await flushPromises()
    expect(api.activateModel).toHaveBeenCalledWith(2)
    expect(wrapper.find('[data-test="serving"]').text()).toBe('v2')
  })

  it('shows no activate button to an annotator', async () => {
    vi.mocked(api.listModels).mockResolvedValue(
      modelList({ models: [modelVersion({ id: 2, active: false })] }),
    )
    const wrapper = mount(ModelsView, { global: { stubs: ['RouterLink'] } })
    await flushPromises()
    expect(wrapper.find('[data-test="activate"]').exists()).toBe(false)
  })
})
