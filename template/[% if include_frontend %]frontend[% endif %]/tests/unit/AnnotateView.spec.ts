import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AnnotateView from '../../src/views/AnnotateView.vue'
import * as api from '../../src/api/client'
import type { AnnotationItem, ReviewItem } from '../../src/api/client'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  nextItem: vi.fn(),
  setLabel: vi.fn(),
  clearLabel: vi.fn(),
  uploadItems: vi.fn(),
  recentLabels: vi.fn(),
}))

const classes = ['0', '1', '2']
const suggestion = { label: '2', confidence: 0.61, model_version: 'v1.0.0' }
const item = (id: number): AnnotationItem => ({
  id, original_name: `img${id}.png`, image_url: `/img/${id}`, sha256: `sha${id}`, status: 'queued', label: null, suggestion,
})

beforeEach(() => {
  vi.resetAllMocks() // also drops unused mockResolvedValueOnce values
  vi.mocked(api.nextItem)
    .mockResolvedValueOnce({ item: item(1), classes, progress: { total: 2, labeled: 0, disputed: 0 } })
    .mockResolvedValueOnce({ item: item(2), classes, progress: { total: 2, labeled: 1, disputed: 0 } })
    .mockResolvedValue({ item: item(1), classes, progress: { total: 2, labeled: 0, disputed: 0 } })
  vi.mocked(api.setLabel).mockResolvedValue({})
  vi.mocked(api.clearLabel).mockResolvedValue({})
  vi.mocked(api.recentLabels).mockResolvedValue({ items: [] })
})

describe('annotation tool', () => {
  it('labels the shown item by click and moves to the next one', async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-test="progress"]').text()).toBe('0 / 2 labeled')
    await wrapper.find('[data-test="label-1"]').trigger('click')
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(1, '1', false)
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img2.png')
    wrapper.unmount()
  })

  it("highlights the model's suggestion and accepts it with Enter", async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-test="suggested-label"]').text()).toBe('2')
    expect(wrapper.find('[data-test="label-2"]').classes()).toContain('suggested')
    expect(wrapper.find('[data-test="label-0"]').classes()).not.toContain('suggested')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(1, '2', true)
    wrapper.unmount()
  })

  it('overrides the suggestion by a class key and undoes with u', async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '1' }))
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(1, '1', false)
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'u' }))
    await flushPromises()
    expect(api.clearLabel).toHaveBeenCalledWith(1)
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img1.png')
    wrapper.unmount()
  })

  it('asks for the chosen order and queue', async () => {
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    await wrapper.find('[data-test="order"]').setValue('uncertainty')
    await flushPromises()
    expect(api.nextItem).toHaveBeenLastCalledWith({ order: 'uncertainty', queue: 'unlabeled' })
    await wrapper.find('[data-test="queue"]').setValue('second-opinion')
    await flushPromises()
    expect(api.nextItem).toHaveBeenLastCalledWith({ order: 'uncertainty', queue: 'second-opinion' })
    wrapper.unmount()
  })

  it('uploads many images in chunks with a progress bar and lists the rejected ones', async () => {
    vi.mocked(api.uploadItems).mockImplementation(async (files) => ({
      added: files.filter((file) => file.name !== 'bad.png').map((_, i) => item(100 + i)),
      duplicates: 0,
      rejected: files.filter((file) => file.name === 'bad.png').map((file) => ({ name: file.name, error: 'not an image' })),
      progress: { total: 44, labeled: 0, disputed: 0 },
    }))
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    const files = Array.from({ length: 44 }, (_, i) => new File(['x'], `${i}.png`))
    files.push(new File(['x'], 'bad.png'))
    const input = wrapper.find('[data-test="queue-input"]')
    Object.defineProperty(input.element, 'files', { value: files, configurable: true })
    Object.defineProperty(input.element, 'value', { value: '', writable: true, configurable: true })
    await input.trigger('change')
    await flushPromises()
    expect(vi.mocked(api.uploadItems).mock.calls.map(([batch]) => batch.length)).toEqual([20, 20, 5])
    expect(wrapper.find('[data-test="upload-progress"]').attributes('value')).toBe('45')
    expect(wrapper.find('[data-test="notice"]').text()).toBe('44 added, 0 already queued, 1 rejected')
    expect(wrapper.find('[data-test="rejected"]').text()).toBe('bad.png: not an image')
    wrapper.unmount()
  })

  it('reopens an earlier label from the recent list and relabels it', async () => {
    const earlier: ReviewItem = {
      ...item(9), label: '0', status: 'labeled', labels: [{ id: 1, annotator: 'anonymous', kind: 'label', label: '0' }],
    }
    vi.mocked(api.recentLabels).mockResolvedValue({ items: [earlier] })
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-test="recent-item"]').text()).toContain('0')
    await wrapper.find('[data-test="relabel"]').trigger('click')
    expect(wrapper.find('[data-test="current-item"]').text()).toContain('img9.png')
    await wrapper.find('[data-test="label-1"]').trigger('click')
    await flushPromises()
    expect(api.setLabel).toHaveBeenCalledWith(9, '1', false)
    wrapper.unmount()
  })

  it('shows the error and keeps the item when labeling fails', async () => {
    vi.mocked(api.setLabel).mockRejectedValueOnce(new api.ApiError('database unavailable, try again later', 503))
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
