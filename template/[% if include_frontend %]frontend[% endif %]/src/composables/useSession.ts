// Who this browser is logged in as: one shared copy of GET /api/auth/session for the nav, the
// router guard and the views. Logging in or out replaces it (and with it the CSRF token the client
// sends on writes).
import { computed, ref } from 'vue'
import {
  fetchSession,
  login as apiLogin,
  logout as apiLogout,
  onSessionChanged,
  type Role,
  type SessionState,
} from '../api/client'

const state = ref<SessionState | null>(null)
let pending: Promise<SessionState> | null = null

// A 401 (or a refused write) elsewhere: the session may have ended; ask again (the page keeps its error).
onSessionChanged(() => {
  loadSession(true).catch(() => undefined)
})

const RANK: Record<Role, number> = { annotator: 1, reviewer: 2, admin: 3 }

// annotator < reviewer < admin, as the backend ranks them.
export function roleAtLeast(role: Role | null | undefined, needed: Role): boolean {
  return !!role && RANK[role] >= RANK[needed]
}

// The session, asked for once (again with `refresh`); a failure is not kept, the next call asks again.
export function loadSession(refresh = false): Promise<SessionState> {
  if (!pending || refresh) {
    const asked = fetchSession().then((answer) => {
      state.value = answer
      return answer
    })
    pending = asked
    asked.catch(() => {
      if (pending === asked) pending = null
    })
  }
  return pending
}

async function login(username: string, password: string): Promise<SessionState> {
  const answer = await apiLogin(username, password)
  state.value = answer
  pending = Promise.resolve(answer)
  return answer
}

async function logout(): Promise<SessionState> {
  const answer = await apiLogout()
  state.value = answer
  pending = Promise.resolve(answer)
  return answer
}

// For tests: forget the session, as a fresh page load would.
export function resetSession(): void {
  state.value = null
  pending = null
}

export function useSession() {
  const user = computed(() => state.value?.user ?? null)
  return {
    session: computed(() => state.value),
    user,
    // false: this host (loopback) may act as the local admin without logging in (AUTH_REQUIRED=0)
    authRequired: computed(() => state.value?.auth_required ?? true),
    can: (role: Role) => roleAtLeast(user.value?.role, role),
    load: loadSession,
    login,
    logout,
  }
}
