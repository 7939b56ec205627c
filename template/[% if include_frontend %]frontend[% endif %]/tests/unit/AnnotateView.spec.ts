import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AnnotateView from '../../src/views/AnnotateView.vue'
import * as api from '../../src/api/client'
import { item, itemAndProgress, label, nextItem, progress, queueResult } from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  nextItem: vi.fn(),
  setLabel: vi.fn(),
  clearLabel: vi.fn(),
  uploadItems: vi.fn(),
  recentLabels: vi.fn(),
}))

const classes = ['0', '1', '2']

beforeEach(() => {
  vi.resetAllMocks() // also drops unused mockResolvedValueOnce values
  vi.mocked(api.nextItem)
    .mockResolvedValueOnce(nextItem({ item: item(1), classes, progress: progress({ total: 2 }) }))
    .mockResolvedValueOnce(
      nextItem({ item: item(2), classes, progress: progress({ total: 2, labeled: 1 }) }),
    )
    .mockResolvedValue(nextItem({ item: item(1), classes, progress: progress({ total: 2 }) }))
  vi.mocked(api.setLabel).mockResolvedValue(itemAndProgress())
  vi.mocked(api.clearLabel).mockResolvedValue(itemAndProgress())
  vi.mocked(api.recentLabels).mockResolvedValue({ items: [], progress: progress() })
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
    vi.mocked(api.uploadItems).mockImplementation(async (files) =>
      queueResult({
        added: files.filter((file) => file.name !== 'bad.png').map((_, i) => item(100 + i)),
        rejected: files
          .filter((file) => file.name === 'bad.png')
          .map((file) => ({ name: file.name, error: 'not an image' })),
        progress: progress({ total: 44 }),
      }),
    )
    const wrapper = mount(AnnotateView, { attachTo: document.body })
    await flushPromises()
    const files = Array.from({ length: 44 }, (_, i) => new File(['x'], `${i}.png`))
    files.push(new File(['x'], 'bad.png'))
    const input = wrapper.find('[data-test="queue-input"]')
    Object.defineProperty(input.element, 'files', { value: files, configurable: true })
    Object.defineProperty(input.element, 'value', { value: '', writable: true, configurable: true })
    await input.trigger('change')
    await flushPromises()
    expect(vi.mocked(api.uploadItems).mock.calls.map(([batch]) => batch.length)).toEqual([
      20, 20, 5,
    ])
    expect(wrapper.find('[data-test="upload-progress"]').attributes('value')).toBe('45')
    expect(wrapper.find('[data-test="notice"]').text()).toBe(
      '44 added, 0 already queued, 1 rejected',
    )
    expect(wrapper.find('[data-test="rejected"]').text()).toBe('bad.png: not an image')
    wrapper.unmount()
  })

  it('reopens an earlier label from the recent list and relabels it', async () => {
    const earlier = item(9, {
      label: '0',
      status: 'labeled',
      labels: [label({ annotator: 'anonymous', label: '0' })],
    })
    vi.mocked(api.recentLabels).mockResolvedValue({
      items: [earlier],
      progress: progress({ total: 1, labeled: 1 }),
    })
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
    vi.mocked(api.setLabel).mockRejectedValueOnce(
      new api.ApiError('database unavailable, try again later', 503),
    )
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
