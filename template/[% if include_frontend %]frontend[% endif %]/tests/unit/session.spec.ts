import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import App from '../../src/App.vue'
import * as api from '../../src/api/client'
import {
  loadSession,
  resetSession,
  roleAtLeast,
  useSession,
} from '../../src/composables/useSession'
import { guard, routes } from '../../src/router'
import { account, sessionState } from './fixtures'

vi.mock('../../src/api/client', async (original) => ({
  ...(await original()),
  fetchSession: vi.fn(),
  login: vi.fn(),
  logout: vi.fn(),
}))

beforeEach(() => {
  vi.resetAllMocks()
  resetSession()
})

afterEach(() => resetSession())

const as = (username: string, role: api.Role) => sessionState({ user: account({ username, role }) })

describe('session', () => {
  it('ranks roles as the backend does', () => {
    expect(roleAtLeast('admin', 'reviewer')).toBe(true)
    expect(roleAtLeast('reviewer', 'reviewer')).toBe(true)
    expect(roleAtLeast('annotator', 'reviewer')).toBe(false)
    expect(roleAtLeast(undefined, 'annotator')).toBe(false)
  })

  it('asks for the session once, and again after a failure', async () => {
    vi.mocked(api.fetchSession)
      .mockRejectedValueOnce(new api.ApiError('Cannot reach the backend.', 0))
      .mockResolvedValue(as('alice', 'annotator'))
    await expect(loadSession()).rejects.toThrow('Cannot reach the backend.')
    await Promise.all([loadSession(), loadSession()])
    expect(api.fetchSession).toHaveBeenCalledTimes(2)
    const { user, can } = useSession()
    expect(user.value?.username).toBe('alice')
    expect([can('annotator'), can('reviewer')]).toEqual([true, false])
  })

  it('holds the account logging in gave, and none after logging out', async () => {
    vi.mocked(api.login).mockResolvedValue(as('rita', 'reviewer'))
    vi.mocked(api.logout).mockResolvedValue(sessionState())
    const session = useSession()
    await session.login('rita', 'rita-long-password')
    expect(api.login).toHaveBeenCalledWith('rita', 'rita-long-password')
    expect(session.user.value?.role).toBe('reviewer')
    expect((await loadSession()).user?.username).toBe('rita') // no second request
    expect(api.fetchSession).not.toHaveBeenCalled()
    await session.logout()
    expect(session.user.value).toBeNull()
  })
})

describe('router guard', () => {
  const router = () => guard(createRouter({ history: createMemoryHistory(), routes }))

  it('sends an anonymous visitor of Annotate to the Login page and back', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(sessionState())
    const r = router()
    await r.push('/annotate?order=random')
    expect(r.currentRoute.value.name).toBe('login')
    expect(r.currentRoute.value.query).toEqual({ next: '/annotate?order=random' })
  })

  it('lets an annotator annotate but not manage users', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(as('alice', 'annotator'))
    const r = router()
    await r.push('/annotate')
    expect(r.currentRoute.value.name).toBe('annotate')
    await r.push('/users')
    expect(r.currentRoute.value.name).toBe('login')
    expect(r.currentRoute.value.query).toEqual({ next: '/users', needs: 'admin' })
  })

  it('lets the local admin of AUTH_REQUIRED=0 in without logging in', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(
      sessionState({
        auth_required: false,
        user: account({ id: 0, username: 'local', role: 'admin' }),
      }),
    )
    const r = router()
    await r.push('/audit')
    expect(r.currentRoute.value.name).toBe('audit')
  })

  it('leaves public pages alone without asking for the session', async () => {
    const r = router()
    await r.push('/models')
    expect(r.currentRoute.value.name).toBe('models')
    expect(api.fetchSession).not.toHaveBeenCalled()
  })
})

describe('nav', () => {
  it('names the account with its role and logs out to the Login page from a guarded page', async () => {
    vi.mocked(api.fetchSession).mockResolvedValue(as('rita', 'reviewer'))
    vi.mocked(api.logout).mockResolvedValue(sessionState())
    const r = guard(createRouter({ history: createMemoryHistory(), routes }))
    await r.push('/review')
    const wrapper = mount(App, { global: { plugins: [r], stubs: { RouterView: true } } })
    await flushPromises()
    expect(wrapper.find('[data-test="whoami"]').text()).toBe('rita (reviewer)')
    expect(wrapper.find('[data-test="nav-users"]').exists()).toBe(false)
    await wrapper.find('[data-test="logout"]').trigger('click')
    await flushPromises()
    expect(api.logout).toHaveBeenCalledTimes(1)
    expect(r.currentRoute.value.name).toBe('login')
    expect(r.currentRoute.value.query).toEqual({ next: '/review' })
    expect(wrapper.find('[data-test="login-link"]').exists()).toBe(true)
  })
})
