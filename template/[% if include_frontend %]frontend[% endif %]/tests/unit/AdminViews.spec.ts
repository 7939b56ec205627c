import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AuditView from '../../src/views/AuditView.vue'
import UsersView from '../../src/views/UsersView.vue'
import * as api from '../../src/api/client'
import { account, auditEntry } from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  listUsers: vi.fn(),
  createUser: vi.fn(),
  updateUser: vi.fn(),
  auditLog: vi.fn(),
}))

vi.mock('vue-router', async (original) => ({
  ...(await original()),
  useRoute: () => ({ query: { limit: '2' } }),
}))

beforeEach(() => vi.resetAllMocks())

describe('users page', () => {
  const alice = account({ id: 1, username: 'alice', role: 'annotator' })
  const adam = account({ id: 5, username: 'adam', role: 'admin' })

  beforeEach(() => {
    vi.mocked(api.listUsers).mockResolvedValue({ users: [alice, adam] })
    vi.mocked(api.updateUser).mockResolvedValue(alice)
  })

  it('creates an account with its role', async () => {
    vi.mocked(api.createUser).mockResolvedValue(
      account({ id: 6, username: 'dora', role: 'reviewer' }),
    )
    const wrapper = mount(UsersView)
    await flushPromises()
    expect(wrapper.findAll('[data-test="user-row"]')).toHaveLength(2)
    await wrapper.find('[data-test="new-username"]').setValue(' dora ')
    await wrapper.find('[data-test="new-password"]').setValue('dora-long-password')
    await wrapper.find('[data-test="new-role"]').setValue('reviewer')
    await wrapper.find('[data-test="create-user"]').trigger('submit')
    await flushPromises()
    expect(api.createUser).toHaveBeenCalledWith('dora', 'dora-long-password', 'reviewer')
    expect(wrapper.find('[data-test="users-notice"]').text()).toBe('Created dora (reviewer).')
    expect(api.listUsers).toHaveBeenCalledTimes(2)
  })

  it('changes a role, deactivates and sets a password', async () => {
    const wrapper = mount(UsersView)
    await flushPromises()
    // rows are redrawn after each change: look the row up again every time
    const row = {
      find: (selector: string) =>
        wrapper.find(`[data-test="user-row"][data-username="alice"] ${selector}`),
    }
    await row.find('[data-test="role"]').setValue('reviewer')
    await flushPromises()
    expect(api.updateUser).toHaveBeenLastCalledWith(1, { role: 'reviewer' })
    await row.find('[data-test="deactivate"]').trigger('click')
    await flushPromises()
    expect(api.updateUser).toHaveBeenLastCalledWith(1, { active: false })
    await row.find('[data-test="set-password-input"]').setValue('a-new-long-password')
    await row.find('form').trigger('submit')
    await flushPromises()
    expect(api.updateUser).toHaveBeenLastCalledWith(1, { password: 'a-new-long-password' })
    expect(wrapper.find('[data-test="users-notice"]').text()).toContain(
      'New password set for alice',
    )
  })

  it("shows the backend's refusal", async () => {
    vi.mocked(api.updateUser).mockRejectedValue(
      new api.ApiError('that would leave no active admin', 409),
    )
    const wrapper = mount(UsersView)
    await flushPromises()
    await wrapper
      .find('[data-test="user-row"][data-username="adam"] [data-test="deactivate"]')
      .trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test="error"]').text()).toBe('that would leave no active admin')
  })
})

describe('audit page', () => {
  it('lists events newest first, pages back with before, filters by actor', async () => {
    vi.mocked(api.auditLog)
      .mockResolvedValueOnce({ events: [auditEntry(9), auditEntry(8)] })
      .mockResolvedValueOnce({ events: [auditEntry(7, { actor: 'rita', action: 'review' })] })
      .mockResolvedValueOnce({ events: [auditEntry(7, { actor: 'rita', action: 'review' })] })
    const wrapper = mount(AuditView)
    await flushPromises()
    expect(api.auditLog).toHaveBeenLastCalledWith({ limit: 2, before: undefined, actor: '' })
    const ids = () =>
      wrapper.findAll('[data-test="audit-row"]').map((row) => row.attributes('data-event-id'))
    expect(ids()).toEqual(['9', '8'])
    await wrapper.find('[data-test="audit-older"]').trigger('click')
    await flushPromises()
    expect(api.auditLog).toHaveBeenLastCalledWith({ limit: 2, before: 8, actor: '' })
    expect(ids()).toEqual(['9', '8', '7'])
    expect(wrapper.find('[data-test="audit-older"]').exists()).toBe(false) // a short page: the end
    await wrapper.find('[data-test="audit-actor"]').setValue('rita')
    await wrapper.find('[data-test="audit-filter"]').trigger('submit')
    await flushPromises()
    expect(api.auditLog).toHaveBeenLastCalledWith({ limit: 2, before: undefined, actor: 'rita' })
    expect(ids()).toEqual(['7'])
  })
})
