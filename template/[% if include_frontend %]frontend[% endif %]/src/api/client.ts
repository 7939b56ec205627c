// The one module that talks to the backend: a thin wrapper over openapi-fetch, typed by
// schema.d.ts (generated from the backend's OpenAPI document: `make api-client`). Every failure
// becomes an ApiError with a message a person can act on; components never call fetch themselves.
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'

type Schemas = components['schemas']

// The UI's names for the document's schemas. Required<>: the server sends every field it
// documents (today's hand-written document marks few of them required).
type DocumentedItem = Required<NonNullable<Schemas['AnnotationItem']>>
export type Suggestion = Required<NonNullable<DocumentedItem['suggestion']>>
export type AnnotationItem = Omit<DocumentedItem, 'suggestion' | 'labels'> & { suggestion: Suggestion | null }
export type Progress = Required<Schemas['Progress']>
export type Rejected = Required<Schemas['Rejected']>
export type Prediction = Required<Schemas['Prediction']>
export type EvaluationSummary = Schemas['EvaluationSummary']
export type EvaluationReport = Schemas['EvaluationReport']

// Fields the UI reads that today's document does not declare yet. Intersected with the documented
// types, so a more precise document only narrows them: drop a line once the document has the field.
export type LabelRow = { id: number; annotator: string; kind: string; label: string }
export type ReviewItem = AnnotationItem & { labels: LabelRow[] }
type ClassList = { classes: string[] }
type Queued = { added: AnnotationItem[]; duplicates: number; rejected: Rejected[]; progress: Progress }
export type Agreement = {
  items_compared: number
  percent_agreement: number | null
  cohen_kappa: number | null
  annotators: string[]
}
export type ModelVersion = {
  id: number
  version: string
  precision: string
  metrics: Record<string, number | null> | null
  size_bytes: number
  created_at: string
  active: boolean
}
export type LogSummary = {
  enabled: boolean
  keep_images: boolean
  auto_queue: boolean
  max_rows: number
  threshold: number
  logged: number
  low_confidence: number
  ready_to_queue: number
}
type ReportDetails = {
  model?: { architecture?: string; parameters?: number; source?: string }
  benchmark?: { latency_p50_ms?: number; latency_p99_ms?: number; size_bytes?: number; int8_accuracy?: number }
  misclassified: Required<EvaluationReport['misclassified'][number]>[]
  per_class: Required<EvaluationReport['per_class'][number]>[]
}
export type Report = Omit<EvaluationReport, keyof ReportDetails> & ReportDetails

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
  localStorage.setItem(IDENTITY_KEY, JSON.stringify({ annotator: annotator.trim(), token: token.trim() }))
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

function messageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'error' in error && typeof error.error === 'string') return error.error
  return ''
}

type Answer<D> = Promise<{ data?: D; error?: unknown; response: Response }>

// The answer's body on success; otherwise an ApiError with the backend's `error` message.
async function call<D>(pending: Answer<D>): Promise<D> {
  let result
  try {
    result = await pending
  } catch (e) {
    if (e instanceof SyntaxError) throw new ApiError('The backend answered with something other than JSON.', 0)
    throw new ApiError('Cannot reach the backend. Is the server running?', 0)
  }
  const { data, error, response } = result
  if (!response.ok) {
    if (response.status === 502 || response.status === 504) {
      throw new ApiError('The backend is down or not answering (proxy error).', response.status)
    }
    throw new ApiError(messageOf(error) || `${response.status} ${response.statusText}`, response.status)
  }
  return data as D
}

// call() whose answer also has Fields: what the UI reads that the document does not declare yet.
function callWith<Fields>() {
  return <D>(pending: Answer<D>) => call(pending) as Promise<D & Fields>
}

// openapi-typescript types a binary field as a string; the body itself goes out as FormData.
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
  return call(api.POST('/api/predict', multipart({ image: file }))) as Promise<Prediction>
}

export function listModels() {
  return callWith<{ models: ModelVersion[]; serving: string | null; engine: string | null }>()(
    api.GET('/api/models'),
  )
}

export type Order = 'oldest' | 'uncertainty' | 'random'
export type Queue = 'unlabeled' | 'second-opinion'

// order: oldest | uncertainty (least confidence first) | random; queue: unlabeled | second-opinion
export function nextItem({ order = 'oldest', queue = 'unlabeled' }: { order?: Order; queue?: Queue } = {}) {
  return callWith<{ item: AnnotationItem | null; progress: Progress } & ClassList>()(
    api.GET('/api/annotations/next', { params: { query: { order, queue } } }),
  )
}

export function uploadItems(files: File[]) {
  return callWith<Queued>()(api.POST('/api/annotations/items', multipart({ images: files })))
}

export function uploadArchive(file: File) {
  return callWith<Queued>()(api.POST('/api/annotations/archive', multipart({ archive: file })))
}

// The caller's own current labels, most recent first (to relabel one from an earlier session).
export function recentLabels(limit = 8) {
  const labeledBy = getIdentity().annotator || 'anonymous'
  return callWith<{ items: ReviewItem[] }>()(
    api.GET('/api/annotations/items', { params: { query: { labeled_by: labeledBy, limit } } }),
  )
}

// accepted: the model's suggestion was taken as is (Enter), recorded with the label.
export function setLabel(itemId: number, label: string, accepted = false) {
  return call(api.PUT('/api/annotations/items/{item_id}/label', { ...itemPath(itemId), body: { label, accepted } }))
}

export function clearLabel(itemId: number) {
  return call(api.DELETE('/api/annotations/items/{item_id}/label', itemPath(itemId)))
}

export function reviewList() {
  return callWith<{ items: ReviewItem[]; agreement: Agreement } & ClassList>()(api.GET('/api/annotations/review'))
}

export function settleItem(itemId: number, label: string) {
  return call(api.PUT('/api/annotations/items/{item_id}/review', { ...itemPath(itemId), body: { label } }))
}

export function annotationStats() {
  return call(api.GET('/api/annotations/stats'))
}

export function exportLabels() {
  return callWith<{ rows: number; directory: string }>()(api.POST('/api/annotations/export'))
}

export function predictionLog() {
  return callWith<{ summary: LogSummary; predictions: unknown[] }>()(api.GET('/api/predictions'))
}

export function queueLowConfidence() {
  return callWith<{ queued: number; duplicates: number; skipped: number }>()(
    api.POST('/api/predictions/queue-low-confidence'),
  )
}

// Evaluation reports the pipeline wrote: teacher, student, pruned (GET /api/evaluation).
export function listEvaluations() {
  return call(api.GET('/api/evaluation'))
}

// One model's report: per-class scores, confusion matrix, training curves, misclassified images.
export function evaluationReport(name: string) {
  return call(api.GET('/api/evaluation/{name}', { params: { path: { name } } })) as Promise<Report>
}
