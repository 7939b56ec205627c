import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import PredictView from './views/PredictView.vue'

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'predict', component: PredictView },
  { path: '/annotate', name: 'annotate', component: () => import('./views/AnnotateView.vue') },
  { path: '/review', name: 'review', component: () => import('./views/ReviewView.vue') },
  { path: '/models', name: 'models', component: () => import('./views/ModelsView.vue') },
  {
    path: '/evaluation',
    name: 'evaluation',
    component: () => import('./views/EvaluationView.vue'),
  },
  { path: '/guide', name: 'guide', component: () => import('./views/GuideView.vue') },
]

export const router = createRouter({ history: createWebHistory(), routes })
