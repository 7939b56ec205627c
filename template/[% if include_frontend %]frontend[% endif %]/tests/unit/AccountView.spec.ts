import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AccountView from '../../src/views/AccountView.vue'
import * as api from '../../src/api/client'
import { loadSession, resetSession } from '../../src/composables/useSession'
import { account, sessionState } from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  fetchSession: vi.fn(),
  changePassword: vi.fn(),
  listTokens: vi.fn(),
  createToken: vi.fn(),
  revokeToken: vi.fn(),
}))

const AT = '2026-01-01T12:00:00+00:00'
const ci = { id: 3, name: 'ci', created_at: AT, last_used_at: null, revoked_at: null }

beforeEach(async () => {
  vi.resetAllMocks()
  resetSession()
  vi.mocked(api.fetchSession).mockResolvedValue(sessionState({ user: account() }))
  await loadSession()
})

describe('account page', () => {
  it('changes the password and clears the fields', async () => {
    vi.mocked(api.listTokens).mockResolvedValue({ tokens: [] })
    vi.mocked(api.changePassword).mockResolvedValue(undefined)
    const wrapper = mount(AccountView)
    await flushPromises()
    await wrapper.find('[data-test="current-password"]').setValue('alice-long-password')
    await wrapper.find('[data-test="new-password"]').setValue('a-newer-long-password')
    await wrapper.find('[data-test="password-form"]').trigger('submit')
    await flushPromises()
    expect(api.changePassword).toHaveBeenCalledWith('alice-long-password', 'a-newer-long-password')
    expect(wrapper.find('[data-test="account-notice"]').text()).toBe('Password changed.')
    const current = wrapper.find('[data-test="current-password"]').element as HTMLInputElement
    expect(current.value).toBe('')
  })

  it('shows a new token once and revokes one', async () => {
    vi.mocked(api.listTokens)
      .mockResolvedValueOnce({ tokens: [] })
      .mockResolvedValueOnce({ tokens: [ci] })
      .mockResolvedValue({ tokens: [{ ...ci, revoked_at: AT }] })
    vi.mocked(api.createToken).mockResolvedValue({ ...ci, token: 'secret-once' })
    vi.mocked(api.revokeToken).mockResolvedValue(undefined)
    const wrapper = mount(AccountView)
    await flushPromises()
    await wrapper.find('[data-test="token-name"]').setValue(' ci ')
    await wrapper.find('[data-test="create-token"]').trigger('submit')
    await flushPromises()
    expect(api.createToken).toHaveBeenCalledWith('ci')
    expect(wrapper.find('[data-test="issued-token"]').text()).toContain('secret-once')
    await wrapper.find('[data-test="revoke-token"]').trigger('click')
    await flushPromises()
    expect(api.revokeToken).toHaveBeenCalledWith(3)
    expect(wrapper.find('[data-test="token-row"]').text()).toContain('revoked')
  })

  it('explains that the local admin has no password or tokens', async () => {
    resetSession()
    vi.mocked(api.fetchSession).mockResolvedValue(
      sessionState({
        auth_required: false,
        user: account({ id: 0, username: 'local', role: 'admin' }),
      }),
    )
    await loadSession()
    const wrapper = mount(AccountView)
    await flushPromises()
    expect(wrapper.find('[data-test="local-admin"]').exists()).toBe(true)
    expect(api.listTokens).not.toHaveBeenCalled()
  })
})
