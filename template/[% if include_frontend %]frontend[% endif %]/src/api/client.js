// The one module that talks to the backend. Every failure becomes an ApiError with a message
// a person can act on; components never call fetch themselves.

export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

// Who is labeling: sent as X-Annotator (and the admin token, when the server sets ADMIN_TOKEN)
// with every request. Kept in localStorage so a reload does not lose it.
const IDENTITY_KEY = 'annotation-identity'

export function getIdentity() {
  try {
    const stored = JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? '{}')
    return { annotator: stored.annotator ?? '', token: stored.token ?? '' }
  } catch {
    return { annotator: '', token: '' }
  }
}

export function setIdentity({ annotator = '', token = '' }) {
  localStorage.setItem(IDENTITY_KEY, JSON.stringify({ annotator: annotator.trim(), token: token.trim() }))
}

function identityHeaders() {
  const { annotator, token } = getIdentity()
  const headers = {}
  if (annotator) headers['X-Annotator'] = annotator
  if (token) headers.Authorization = `Bearer ${token}`
  return headers
}

async function request(path, options = {}) {
  let response
  try {
    response = await fetch(path, { ...options, headers: { ...identityHeaders(), ...options.headers } })
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

// order: oldest | uncertainty (least confidence first) | random; queue: unlabeled | second-opinion
export function nextItem({ order = 'oldest', queue = 'unlabeled' } = {}) {
  const query = new URLSearchParams({ order, queue })
  return request(`/api/annotations/next?${query}`)
}

export function uploadItems(files) {
  const form = new FormData()
  for (const file of files) form.append('images', file)
  return request('/api/annotations/items', { method: 'POST', body: form })
}

export function uploadArchive(file) {
  const form = new FormData()
  form.append('archive', file)
  return request('/api/annotations/archive', { method: 'POST', body: form })
}

// The caller's own current labels, most recent first (to relabel one from an earlier session).
export function recentLabels(limit = 8) {
  const labeledBy = getIdentity().annotator || 'anonymous'
  return request(`/api/annotations/items?${new URLSearchParams({ labeled_by: labeledBy, limit })}`)
}

// accepted: the model's suggestion was taken as is (Enter), recorded with the label.
export function setLabel(itemId, label, accepted = false) {
  return request(`/api/annotations/items/${encodeURIComponent(itemId)}/label`, json('PUT', { label, accepted }))
}

export function clearLabel(itemId) {
  return request(`/api/annotations/items/${encodeURIComponent(itemId)}/label`, { method: 'DELETE' })
}

export function reviewList() {
  return request('/api/annotations/review')
}

export function settleItem(itemId, label) {
  return request(`/api/annotations/items/${encodeURIComponent(itemId)}/review`, json('PUT', { label }))
}

export function annotationStats() {
  return request('/api/annotations/stats')
}

export function exportLabels() {
  return request('/api/annotations/export', { method: 'POST' })
}

export function predictionLog() {
  return request('/api/predictions')
}

export function queueLowConfidence() {
  return request('/api/predictions/queue-low-confidence', { method: 'POST' })
}

// Evaluation reports the pipeline wrote: teacher, student, pruned (GET /api/evaluation).
export function listEvaluations() {
  return request('/api/evaluation')
}

// One model's report: per-class scores, confusion matrix, training curves, misclassified images.
export function evaluationReport(name) {
  return request(`/api/evaluation/${encodeURIComponent(name)}`)
}
