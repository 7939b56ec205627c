import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AnnotateView from '../../src/views/AnnotateView.vue'
import * as api from '../../src/api/client.js'

vi.mock('../../src/api/client.js', async (original) => ({
  ...(await original()),
  nextItem: vi.fn(),
  setLabel: vi.fn(),
  clearLabel: vi.fn(),
}))

const classes = ['0', '1', '2']
const item = (id) => ({ id, original_name: `img${id}.png`, image_url: `/img/${id}`, label: null })

beforeEach(() => {
  vi.clearAllMocks()
  api.nextItem
    .mockResolvedValueOnce({ item: item(1), classes, progress: { total: 2, labeled: 0 } })
    .mockResolvedValueOnce({ item: item(2), classes, progress: { total: 2, labeled: 1 } })
    .mockResolvedValue({ item: item(1), classes, progress: { total: 2, labeled: 0 } })
  api.setLabel.mockResolvedValue({})
  api.clearLabel.mockResolvedValue({})
})

describe('annotation tool', () => {
  it('labels the shown item by click and moves to the next one', async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-test="progress"]').text()).toBe('0 / 2 labelled')
    await wrapper.find('[data-test="label-2"]').trigger('click')
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(1, '2')
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img2.png')
    wrapper.unmount()
  })

  it('labels by keyboard shortcut and undoes with u', async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '1' }))
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(1, '1')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'u' }))
    await flushPromises()
    expect(api.clearLabel).toHaveBeenCalledWith(1)
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img1.png')
    wrapper.unmount()
  })

  it('shows the error and keeps the item when labelling fails', async () => {
    api.setLabel.mockRejectedValueOnce(new api.ApiError('database unavailable, try again later', 503))
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    await wrapper.find('[data-test="label-0"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="error"]').text()).toBe('database unavailable, try again later')
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img1.png')
    expect(wrapper.find('[data-test="undo"]').attributes('disabled')).toBeDefined()
    wrapper.unmount()
  })
})
