import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import ReviewView from '../../src/views/ReviewView.vue'
import * as api from '../../src/api/client'
import {
  agreement as agreementOf,
  item,
  itemAndProgress,
  label,
  reviewList,
  suggestion,
} from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  reviewList: vi.fn(),
  settleItem: vi.fn(),
}))

const disputed = item(7, {
  status: 'disputed',
  suggestion: suggestion({ label: '3', confidence: 0.52, model_version: 'v1' }),
  labels: [
    label({ id: 1, annotator: 'alice', label: '3' }),
    label({ id: 2, annotator: 'bob', label: '8' }),
  ],
})
const agreement = agreementOf({
  items_compared: 3,
  percent_agreement: 66.7,
  cohen_kappa: 0.571,
  annotators: ['alice', 'bob'],
})

beforeEach(() => {
  vi.clearAllMocks()
  vi.mocked(api.reviewList)
    .mockResolvedValueOnce(reviewList({ items: [disputed], classes: ['3', '8'], agreement }))
    .mockResolvedValue(reviewList({ items: [], classes: ['3', '8'], agreement }))
  vi.mocked(api.settleItem).mockResolvedValue(
    itemAndProgress({ item: item(7, { status: 'settled', label: '3' }) }),
  )
})

describe('review', () => {
  it('lists disagreements with agreement figures and settles one', async () => {
    const wrapper = mount(ReviewView)
    await flushPromises()
    expect(wrapper.find('[data-test="percent-agreement"]').text()).toBe('66.7%')
    expect(wrapper.find('[data-test="kappa"]').text()).toBe('0.571')
    const votes = wrapper.findAll('[data-test="vote"]').map((vote) => vote.text())
    expect(votes).toEqual(['alice: 3', 'bob: 8'])
    await wrapper.find('[data-test="settle-3"]').trigger('click')
    await flushPromises()
    expect(api.settleItem).toHaveBeenCalledWith(7, '3')
    expect(wrapper.find('[data-test="no-disputes"]').exists()).toBe(true)
  })
})
