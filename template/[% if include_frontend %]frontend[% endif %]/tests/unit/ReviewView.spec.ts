import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import ReviewView from '../../src/views/ReviewView.vue'
import * as api from '../../src/api/client'
import { loadSession, resetSession } from '../../src/composables/useSession'
import {
  account,
  agreement as agreementOf,
  agreementPair,
  item,
  itemAndProgress,
  label,
  reviewList,
  sessionState,
  suggestion,
} from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  reviewList: vi.fn(),
  settleItem: vi.fn(),
  fetchSession: vi.fn(),
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
  annotators: ['alice', 'bob', 'carol'],
  pairs: [
    agreementPair({
      annotators: ['alice', 'bob'],
      items_compared: 3,
      percent_agreement: 66.7,
      cohen_kappa: 0.571,
    }),
    agreementPair({ annotators: ['alice', 'carol'], items_compared: 1, percent_agreement: 100 }),
  ],
})

async function logInAs(role: api.Role) {
  resetSession()
  vi.mocked(api.fetchSession).mockResolvedValue(
    sessionState({ user: account({ username: role === 'reviewer' ? 'rita' : 'alice', role }) }),
  )
  await loadSession()
}

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
    await logInAs('reviewer')
    const wrapper = mount(ReviewView)
    await flushPromises()
    expect(wrapper.find('[data-test="percent-agreement"]').text()).toBe('66.7%')
    expect(wrapper.find('[data-test="kappa"]').text()).toBe('0.571')
    const votes = wrapper.findAll('[data-test="vote"]').map((vote) => vote.text())
    expect(votes).toEqual(['alice: 3', 'bob: 8'])
    const pairs = wrapper
      .findAll('[data-test="agreement-pair"]')
      .map((row) => row.findAll('td').map((cell) => cell.text()))
    expect(pairs).toEqual([
      ['alice & bob', '3', '66.7%', '0.571'],
      ['alice & carol', '1', '100%', 'undefined'],
    ])
    await wrapper.find('[data-test="settle-3"]').trigger('click')
    await flushPromises()
    expect(api.settleItem).toHaveBeenCalledWith(7, '3')
    expect(wrapper.find('[data-test="no-disputes"]').exists()).toBe(true)
  })

  it('shows an annotator the disagreements but no settle buttons', async () => {
    await logInAs('annotator')
    const wrapper = mount(ReviewView)
    await flushPromises()
    expect(wrapper.findAll('[data-test="vote"]')).toHaveLength(2)
    expect(wrapper.find('[data-test="settle-3"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="review-needs-role"]').text()).toContain('alice is annotator')
  })
})
