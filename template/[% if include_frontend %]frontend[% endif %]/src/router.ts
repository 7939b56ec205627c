import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import type { Role } from './api/client'
import { loadSession, roleAtLeast } from './composables/useSession'
import PredictView from './views/PredictView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    role?: Role // the least role the page needs (the backend checks it again on every request)
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'predict', component: PredictView },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
  {
    path: '/annotate',
    name: 'annotate',
    component: () => import('./views/AnnotateView.vue'),
    meta: { role: 'annotator' },
  },
  {
    path: '/review',
    name: 'review',
    component: () => import('./views/ReviewView.vue'),
    meta: { role: 'annotator' },
  },
  { path: '/models', name: 'models', component: () => import('./views/ModelsView.vue') },
  {
    path: '/evaluation',
    name: 'evaluation',
    component: () => import('./views/EvaluationView.vue'),
  },
  { path: '/guide', name: 'guide', component: () => import('./views/GuideView.vue') },
  {
    path: '/account',
    name: 'account',
    component: () => import('./views/AccountView.vue'),
    meta: { role: 'annotator' },
  },
  {
    path: '/users',
    name: 'users',
    component: () => import('./views/UsersView.vue'),
    meta: { role: 'admin' },
  },
  {
    path: '/audit',
    name: 'audit',
    component: () => import('./views/AuditView.vue'),
    meta: { role: 'admin' },
  },
]

// A page that needs a role: without an account (or with too low a role) it is the Login page,
// which comes back here after logging in (?next=). With AUTH_REQUIRED=0 this host is the local admin.
export function guard(router: Router): Router {
  router.beforeEach(async (to) => {
    const needed = to.meta.role
    if (!needed) return true
    let user
    try {
      user = (await loadSession()).user
    } catch {
      return true // the backend is not answering: the page shows its own error
    }
    if (roleAtLeast(user?.role, needed)) return true
    return { name: 'login', query: { next: to.fullPath, ...(user ? { needs: needed } : {}) } }
  })
  return router
}

export const router = guard(createRouter({ history: createWebHistory(), routes }))
