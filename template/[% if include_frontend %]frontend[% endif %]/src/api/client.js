// The one module that talks to the backend. Every failure becomes an ApiError with a message
// a person can act on; components never call fetch themselves.

export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

async function request(path, options = {}) {
  let response
  try {
    response = await fetch(path, options)
  } catch {
    throw new ApiError('Cannot reach the backend. Is the server running?', 0)
  }
  let body = null
  try {
    body = await response.json()
  } catch {
    // not JSON: a proxy error page, for example; the status line says enough
  }
  if (!response.ok) {
    if (response.status === 502 || response.status === 504) {
      throw new ApiError('The backend is down or not answering (proxy error).', response.status)
    }
    throw new ApiError(body?.error || `${response.status} ${response.statusText}`, response.status)
  }
  return body
}

function json(method, payload) {
  return {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  }
}

export function predict(file) {
  const form = new FormData()
  form.append('image', file)
  return request('/api/predict', { method: 'POST', body: form })
}

export function listModels() {
  return request('/api/models')
}

export function nextItem() {
  return request('/api/annotations/next')
}

export function uploadItems(files) {
  const form = new FormData()
  for (const file of files) form.append('images', file)
  return request('/api/annotations/items', { method: 'POST', body: form })
}

export function setLabel(itemId, label) {
  return request(`/api/annotations/items/${encodeURIComponent(itemId)}/label`, json('PUT', { label }))
}

export function clearLabel(itemId) {
  return request(`/api/annotations/items/${encodeURIComponent(itemId)}/label`, { method: 'DELETE' })
}

export function annotationStats() {
  return request('/api/annotations/stats')
}

export function exportLabels() {
  return request('/api/annotations/export', { method: 'POST' })
}
