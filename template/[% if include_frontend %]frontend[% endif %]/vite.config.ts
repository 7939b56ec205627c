import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// `npm run dev` proxies the API to the Flask dev server (`make serve-dev`, port 5000).
const backend = process.env.BACKEND_URL || 'http://127.0.0.1:5000'

export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: { '/api': backend, '/healthz': backend, '/readyz': backend },
    fs: { allow: ['..'] }, // the annotation guide lives in ../docs
  },
  test: {
    environment: 'jsdom',
    include: ['tests/unit/**/*.spec.ts'],
  },
})
