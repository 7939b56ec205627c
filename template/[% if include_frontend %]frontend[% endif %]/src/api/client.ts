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
export type ServingSelection = Schemas['ServingSelection']
export type LogSummary = Schemas['LogSummary']
export type PredictionLogPage = Schemas['PredictionLogPage']
export type LowConfidenceQueued = Schemas['LowConfidenceQueued']
export type EvaluationList = Schemas['EvaluationList']
export type EvaluationSummary = Schemas['EvaluationSummary']
export type EvaluationReport = Schemas['EvaluationReport']
export type Misclassified = Schemas['Misclassified']
export type ErrorBody = Schemas['Error']
export type Account = Schemas['Account']
export type Role = Account['role']
export type SessionState = Schemas['SessionState']
export type AgreementPair = Schemas['AgreementPair']
export type AuditEntry = Schemas['AuditEntry']
export type UserChange = Schemas['UserChange']
export type Token = Schemas['Token']
export type NewToken = Schemas['NewToken']

export class ApiError extends Error {
  status: number

  constructor(message: string, status: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

// Accounts: the browser logs in with a session cookie (HttpOnly, SameSite=Lax, sent by the browser
// on same-origin requests); every unsafe request made with it carries the session's CSRF token as
// X-CSRFToken. The token comes from GET /api/auth/session (and login's answer): `rememberSession`
// keeps the one the last session answer gave.
let csrfToken = ''

export function rememberSession(state: Pick<SessionState, 'csrf_token'>): void {
  csrfToken = state.csrf_token
}

export function currentCsrfToken(): string {
  return csrfToken
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export const csrfHeader: Middleware = {
  onRequest({ request }) {
    if (UNSAFE_METHODS.has(request.method.toUpperCase()) && csrfToken)
      request.headers.set('X-CSRFToken', csrfToken)
    return request
  },
}

// Told when the backend says this browser is no longer who it thought (401: the session ended,
// e.g. deactivated or its password changed elsewhere; 403 on a write: perhaps a stale CSRF token),
// so the session is asked for again and the nav shows who it is now.
let sessionChanged: (() => void) | null = null

export function onSessionChanged(callback: (() => void) | null): void {
  sessionChanged = callback
}

export const sessionWatch: Middleware = {
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname
    if (path.startsWith('/api/auth/')) return undefined // login and session answers are the session
    const unsafe = UNSAFE_METHODS.has(request.method.toUpperCase())
    if (response.status === 401 || (response.status === 403 && unsafe)) sessionChanged?.()
    return undefined
  },
}

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin, // same origin: nginx (or Vite's dev proxy) forwards /api
  credentials: 'same-origin', // the session cookie
  fetch: (request) => globalThis.fetch(request), // looked up per call, so tests can stub it
})
api.use(csrfHeader, sessionWatch)

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

// An answer without a body (204): nothing on success; otherwise the same ApiError as `call`.
async function callNoContent(pending: Answer<unknown>): Promise<void> {
  await call(
    pending.then((result) =>
      result.response.ok && result.data === undefined ? { ...result, data: null } : result,
    ),
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

// Admin: serve this version from now on (hot reload); 409 when its file fails its checks here.
export function activateModel(versionId: number) {
  return call(
    api.POST('/api/models/{version_id}/activate', { params: { path: { version_id: versionId } } }),
  )
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

// One account's current labels (the caller's), most recent first (to relabel one from an earlier session).
export function recentLabels(labeledBy: string, limit = 8) {
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

// The session: who this browser is logged in as (null: nobody), and the CSRF token for its writes.
export async function fetchSession() {
  const state = await call(api.GET('/api/auth/session'))
  rememberSession(state)
  return state
}

// 401: wrong username or password; 429: too many failed logins from this address.
export async function login(username: string, password: string) {
  const state = await call(api.POST('/api/auth/login', { body: { username, password } }))
  rememberSession(state)
  return state
}

// Ends the session; the answer after it is the anonymous session (a fresh CSRF token).
export async function logout() {
  await callNoContent(api.POST('/api/auth/logout'))
  return fetchSession()
}

export function changePassword(currentPassword: string, newPassword: string) {
  return callNoContent(
    api.PUT('/api/auth/password', {
      body: { current_password: currentPassword, new_password: newPassword },
    }),
  )
}

// The caller's API tokens (for scripts and CI): listed, a new one (its secret shown once), revoked.
export function listTokens() {
  return call(api.GET('/api/auth/tokens'))
}

export function createToken(name: string) {
  return call(api.POST('/api/auth/tokens', { body: { name } }))
}

export function revokeToken(tokenId: number) {
  return callNoContent(
    api.DELETE('/api/auth/tokens/{token_id}', { params: { path: { token_id: tokenId } } }),
  )
}

// Admin: the accounts, a new one, and changes to one (role, active, a new password).
export function listUsers() {
  return call(api.GET('/api/users'))
}

export function createUser(username: string, password: string, role: Role) {
  return call(api.POST('/api/users', { body: { username, password, role } }))
}

export function updateUser(userId: number, change: UserChange) {
  return call(
    api.PATCH('/api/users/{user_id}', { params: { path: { user_id: userId } }, body: change }),
  )
}

// Admin: the audit log, newest first; `before` pages to older events, `actor` filters by account.
export function auditLog({
  limit = 50,
  before,
  actor,
}: { limit?: number; before?: number; actor?: string } = {}) {
  return call(
    api.GET('/api/audit', { params: { query: { limit, before, actor: actor || undefined } } }),
  )
}
