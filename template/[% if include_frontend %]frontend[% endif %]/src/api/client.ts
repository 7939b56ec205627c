// The one module that talks to the backend: a thin wrapper over openapi-fetch, typed by
// schema.d.ts (generated from the backend's OpenAPI document: `make api-client`). Every failure
// becomes an ApiError with a message a person can act on; components never call fetch themselves.
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'

type Schemas = components['schemas']

// The UI's names for the document's schemas (the server sends every field it marks required).
export type Item = Schemas['Item']
export type Label = Schemas['Label']
export type Suggestion = Schemas['Suggestion']
export type Progress = Schemas['Progress']
export type Rejected = Schemas['Rejected']
export type QueueResult = Schemas['QueueResult']
export type NextItem = Schemas['NextItem']
export type ItemList = Schemas['ItemList']
export type ItemAndProgress = Schemas['ItemAndProgress']
export type ReviewList = Schemas['ReviewList']
export type Agreement = Schemas['Agreement']
export type AnnotationStats = Schemas['AnnotationStats']
export type ExportResult = Schemas['ExportResult']
export type Prediction = Schemas['Prediction']
export type ModelList = Schemas['ModelList']
export type ModelVersion = Schemas['ModelVersion']
export type ModelMetrics = Schemas['ModelMetrics']
export type LogSummary = Schemas['LogSummary']
export type PredictionLogPage = Schemas['PredictionLogPage']
export type LowConfidenceQueued = Schemas['LowConfidenceQueued']
export type EvaluationList = Schemas['EvaluationList']
export type EvaluationSummary = Schemas['EvaluationSummary']
export type EvaluationReport = Schemas['EvaluationReport']
export type Misclassified = Schemas['Misclassified']
export type ErrorBody = Schemas['Error']

export class ApiError extends Error {
  status: number

  constructor(message: string, status: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

// Who is labeling: sent as X-Annotator (and the admin token, when the server sets ADMIN_TOKEN)
// with every request. Kept in localStorage so a reload does not lose it.
const IDENTITY_KEY = 'annotation-identity'

export interface Identity {
  annotator: string
  token: string
}

export function getIdentity(): Identity {
  try {
    const stored = JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? '{}')
    return { annotator: stored.annotator ?? '', token: stored.token ?? '' }
  } catch {
    return { annotator: '', token: '' }
  }
}

export function setIdentity({ annotator = '', token = '' }: Partial<Identity>): void {
  localStorage.setItem(
    IDENTITY_KEY,
    JSON.stringify({ annotator: annotator.trim(), token: token.trim() }),
  )
}

const identity: Middleware = {
  onRequest({ request }) {
    const { annotator, token } = getIdentity()
    if (annotator) request.headers.set('X-Annotator', annotator)
    if (token) request.headers.set('Authorization', `Bearer ${token}`)
    return request
  },
}

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin, // same origin: nginx (or Vite's dev proxy) forwards /api
  fetch: (request) => globalThis.fetch(request), // looked up per call, so tests can stub it
})
api.use(identity)

function isErrorBody(body: unknown): body is ErrorBody {
  return !!body && typeof body === 'object' && 'error' in body && typeof body.error === 'string'
}

// A validation error's `detail` (location -> field -> messages) in one line: `limit: Not a valid integer.`
function fieldsOf(detail: ErrorBody['detail']): string {
  const parts: string[] = []
  const add = (path: string, messages: unknown): void => {
    if (messages && typeof messages === 'object' && !Array.isArray(messages)) {
      for (const [key, value] of Object.entries(messages)) add(path ? `${path}.${key}` : key, value)
    } else {
      parts.push(`${path}: ${[messages].flat().join(' ')}`)
    }
  }
  for (const fields of Object.values(detail ?? {})) add('', fields)
  const line = parts.join('; ')
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}

// The backend's `error`, and the fields a validation error names when `error` does not already say them.
function messageOf(body: unknown): string {
  if (!isErrorBody(body)) return ''
  const fields = fieldsOf(body.detail)
  return fields && !body.error.includes(fields) ? `${body.error} (${fields})` : body.error
}

type Answer<D> = Promise<{ data?: D; error?: unknown; response: Response }>

// The answer's body on success; otherwise an ApiError with the backend's `error` message.
async function call<D>(pending: Answer<D>): Promise<D> {
  let result
  try {
    result = await pending
  } catch (e) {
    if (e instanceof SyntaxError)
      throw new ApiError('The backend answered with something other than JSON.', 0)
    throw new ApiError('Cannot reach the backend. Is the server running?', 0)
  }
  const { data, error, response } = result
  if (response.ok && data !== undefined) return data
  if (response.ok) throw new ApiError('The backend answered with an empty body.', response.status)
  if (response.status === 502 || response.status === 504) {
    throw new ApiError('The backend is down or not answering (proxy error).', response.status)
  }
  throw new ApiError(
    messageOf(error) || `${response.status} ${response.statusText}`,
    response.status,
  )
}

// The document types a binary field as a string (OpenAPI `format: binary`); the body itself goes
// out as FormData, so the typed body is a placeholder.
function multipart(fields: Record<string, Blob | Blob[]>) {
  return {
    body: {} as never,
    bodySerializer: () => {
      const form = new FormData()
      for (const [name, value] of Object.entries(fields)) {
        for (const blob of Array.isArray(value) ? value : [value]) form.append(name, blob)
      }
      return form
    },
  }
}

const itemPath = (itemId: number) => ({ params: { path: { item_id: itemId } } })

export function predict(file: File) {
  return call(api.POST('/api/predict', multipart({ image: file })))
}

export function listModels() {
  return call(api.GET('/api/models'))
}

export type Order = NextItem['order']
export type Queue = NextItem['queue']

// order: oldest | uncertainty (least confidence first) | random; queue: unlabeled | second-opinion
export function nextItem({
  order = 'oldest',
  queue = 'unlabeled',
}: { order?: Order; queue?: Queue } = {}) {
  return call(api.GET('/api/annotations/next', { params: { query: { order, queue } } }))
}

export function uploadItems(files: File[]) {
  return call(api.POST('/api/annotations/items', multipart({ images: files })))
}

export function uploadArchive(file: File) {
  return call(api.POST('/api/annotations/archive', multipart({ archive: file })))
}

// The caller's own current labels, most recent first (to relabel one from an earlier session).
export function recentLabels(limit = 8) {
  const labeledBy = getIdentity().annotator || 'anonymous'
  return call(
    api.GET('/api/annotations/items', { params: { query: { labeled_by: labeledBy, limit } } }),
  )
}

// accepted: the model's suggestion was taken as is (Enter), recorded with the label. A label that
// is not one of the served model's classes, or accepted with another label, answers 409.
export function setLabel(itemId: number, label: string, accepted = false) {
  return call(
    api.PUT('/api/annotations/items/{item_id}/label', {
      ...itemPath(itemId),
      body: { label, accepted },
    }),
  )
}

export function clearLabel(itemId: number) {
  return call(api.DELETE('/api/annotations/items/{item_id}/label', itemPath(itemId)))
}

export function reviewList() {
  return call(api.GET('/api/annotations/review'))
}

export function settleItem(itemId: number, label: string) {
  return call(
    api.PUT('/api/annotations/items/{item_id}/review', { ...itemPath(itemId), body: { label } }),
  )
}

export function annotationStats() {
  return call(api.GET('/api/annotations/stats'))
}

export function exportLabels() {
  return call(api.POST('/api/annotations/export'))
}

export function predictionLog() {
  return call(api.GET('/api/predictions'))
}

export function queueLowConfidence() {
  return call(api.POST('/api/predictions/queue-low-confidence'))
}

// Evaluation reports the pipeline wrote: teacher, student, pruned (GET /api/evaluation).
export function listEvaluations() {
  return call(api.GET('/api/evaluation'))
}

// One model's report: per-class scores, confusion matrix, training curves, misclassified images.
export function evaluationReport(name: string) {
  return call(api.GET('/api/evaluation/{name}', { params: { path: { name } } }))
}
