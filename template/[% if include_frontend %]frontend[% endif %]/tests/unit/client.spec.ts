import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ApiError,
  currentCsrfToken,
  fetchSession,
  login,
  logout,
  nextItem,
  onSessionChanged,
  predict,
  rememberSession,
  setLabel,
  updateUser,
} from '../../src/api/client'

function respond(status: number, body: unknown, statusText = '') {
  return vi
    .fn<typeof fetch>()
    .mockResolvedValue(
      new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, statusText }),
    )
}

// The Request the client handed to fetch (openapi-fetch passes one Request).
function sent(fetchMock: ReturnType<typeof respond>): Request {
  const [request] = fetchMock.mock.calls[0] ?? []
  if (!(request instanceof Request)) throw new Error('fetch was not called with a Request')
  return request
}

const relative = (request: Request) => {
  const url = new URL(request.url)
  return url.pathname + url.search
}

afterEach(() => {
  vi.unstubAllGlobals()
  rememberSession({ csrf_token: '' })
})

const session = (fields = {}) => ({
  user: null,
  csrf_token: 'token-1',
  auth_required: true,
  ...fields,
})

describe('api client', () => {
  it('returns the prediction body on success', async () => {
    const fetchMock = respond(200, { label: '7', confidence: 0.9 })
    vi.stubGlobal('fetch', fetchMock)
    const append = vi.spyOn(FormData.prototype, 'append')
    const file = new File(['x'], 'x.png')
    const body = await predict(file)
    expect(body.label).toBe('7')
    const request = sent(fetchMock)
    expect(relative(request)).toBe('/api/predict')
    expect(request.method).toBe('POST')
    expect(request.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/)
    // the file goes as the `image` part, seen on the FormData: a jsdom File loses its name on its
    // way into Node's Request and, on Node 24, its bytes too; browsers send both, which the e2e
    // test sees in the annotation queue
    expect(append).toHaveBeenCalledWith('image', file)
    append.mockRestore()
  })

  it("surfaces the backend's JSON error message and status", async () => {
    vi.stubGlobal('fetch', respond(415, { error: 'not an image: unsupported format' }))
    const failure = predict(new File(['x'], 'x.txt'))
    await expect(failure).rejects.toThrow('not an image: unsupported format')
    await expect(failure).rejects.toMatchObject({ status: 415 })
  })

  it('names the invalid fields of a validation error', async () => {
    const detail = {
      json: { label: ['Missing data for required field.'], accepted: ['Not a valid boolean.'] },
    }
    vi.stubGlobal('fetch', respond(400, { error: 'Validation error', detail }))
    const failure = setLabel(1, '3')
    await expect(failure).rejects.toThrow(
      'Validation error (label: Missing data for required field.; accepted: Not a valid boolean.)',
    )
    await expect(failure).rejects.toMatchObject({ status: 400 })
    // the backend's message usually names them already: not twice
    const named = {
      error: 'label: Missing data for required field.',
      detail: { json: { label: ['Missing data for required field.'] } },
    }
    vi.stubGlobal('fetch', respond(400, named))
    await expect(setLabel(1, '3')).rejects.toThrow(/^label: Missing data for required field\.$/)
  })

  it('surfaces a label the served model does not know (409)', async () => {
    vi.stubGlobal('fetch', respond(409, { error: "label must be one of ['0', '1', '2']" }))
    const failure = setLabel(1, '11')
    await expect(failure).rejects.toThrow("label must be one of ['0', '1', '2']")
    await expect(failure).rejects.toMatchObject({ status: 409 })
  })

  it('explains a backend that cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')))
    await expect(predict(new File(['x'], 'x.png'))).rejects.toThrow(/Cannot reach the backend/)
  })

  it('explains a proxy error page from a backend that is down', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
      ),
    )
    await expect(predict(new File(['x'], 'x.png'))).rejects.toBeInstanceOf(ApiError)
    await expect(predict(new File(['x'], 'x.png'))).rejects.toThrow(/backend is down/)
  })

  it('sends labels as JSON and escapes the item id', async () => {
    const fetchMock = respond(200, { item: {}, progress: {} })
    vi.stubGlobal('fetch', fetchMock)
    await setLabel('1/../2' as unknown as number, '3')
    const request = sent(fetchMock)
    expect(relative(request)).toBe('/api/annotations/items/1%2F..%2F2/label')
    expect(request.headers.get('Content-Type')).toBe('application/json')
    expect(await request.json()).toEqual({ label: '3', accepted: false })
  })

  it('sends no annotator header and no CSRF token on a read', async () => {
    const fetchMock = respond(200, { item: null })
    vi.stubGlobal('fetch', fetchMock)
    rememberSession({ csrf_token: 'token-1' })
    await nextItem({ order: 'uncertainty' })
    const request = sent(fetchMock)
    expect(relative(request)).toBe('/api/annotations/next?order=uncertainty&queue=unlabeled')
    expect(request.headers.get('X-Annotator')).toBeNull()
    expect(request.headers.get('X-CSRFToken')).toBeNull()
    expect(request.headers.get('Authorization')).toBeNull()
    expect(request.credentials).toBe('same-origin') // the session cookie goes along
  })

  it("sends the session's CSRF token on every unsafe method", async () => {
    vi.stubGlobal('fetch', respond(200, session({ csrf_token: 'from-session' })))
    await fetchSession()
    expect(currentCsrfToken()).toBe('from-session')
    for (const [method, request] of [
      ['PUT', () => setLabel(1, '3')],
      ['PATCH', () => updateUser(2, { role: 'reviewer' })],
      ['POST', () => predict(new File(['x'], 'x.png'))],
    ] as const) {
      const fetchMock = respond(200, {})
      vi.stubGlobal('fetch', fetchMock)
      await request()
      expect(sent(fetchMock).method).toBe(method)
      expect(sent(fetchMock).headers.get('X-CSRFToken')).toBe('from-session')
    }
  })

  it('sends no CSRF header before a session answer gave a token', async () => {
    const fetchMock = respond(200, {})
    vi.stubGlobal('fetch', fetchMock)
    await setLabel(1, '3')
    expect(sent(fetchMock).headers.has('X-CSRFToken')).toBe(false)
  })

  it("logs in with JSON and keeps the login answer's new CSRF token", async () => {
    rememberSession({ csrf_token: 'anonymous-token' })
    const alice = { id: 1, username: 'alice', role: 'annotator', active: true, created_at: null }
    const fetchMock = respond(200, session({ user: alice, csrf_token: 'alice-token' }))
    vi.stubGlobal('fetch', fetchMock)
    const state = await login('alice', 'alice-long-password')
    expect(state.user?.username).toBe('alice')
    const request = sent(fetchMock)
    expect([relative(request), request.method]).toEqual(['/api/auth/login', 'POST'])
    expect(await request.json()).toEqual({ username: 'alice', password: 'alice-long-password' })
    expect(request.headers.get('X-CSRFToken')).toBe('anonymous-token')
    expect(currentCsrfToken()).toBe('alice-token')
  })

  it('surfaces a wrong password (401) and throttling (429) as the backend words them', async () => {
    vi.stubGlobal('fetch', respond(401, { error: 'wrong username or password' }))
    await expect(login('alice', 'nope')).rejects.toMatchObject({
      message: 'wrong username or password',
      status: 401,
    })
    const throttled = 'too many failed logins from this address; wait and try again'
    vi.stubGlobal('fetch', respond(429, { error: throttled }))
    await expect(login('alice', 'nope')).rejects.toMatchObject({ message: throttled, status: 429 })
    expect(currentCsrfToken()).toBe('') // a failed login changes nothing
  })

  it('logs out (204) and then asks for the anonymous session and its token', async () => {
    rememberSession({ csrf_token: 'alice-token' })
    const fetchMock = vi
      .fn<typeof fetch>()
      .mockResolvedValueOnce(new Response(null, { status: 204 }))
      .mockResolvedValueOnce(new Response(JSON.stringify(session({ csrf_token: 'fresh' }))))
    vi.stubGlobal('fetch', fetchMock)
    const state = await logout()
    expect(state.user).toBeNull()
    const [first, second] = fetchMock.mock.calls.map(([request]) => request as Request)
    expect([relative(first!), first!.method]).toEqual(['/api/auth/logout', 'POST'])
    expect(first!.headers.get('X-CSRFToken')).toBe('alice-token')
    expect([relative(second!), second!.method]).toEqual(['/api/auth/session', 'GET'])
    expect(currentCsrfToken()).toBe('fresh')
  })

  it('surfaces a refused CSRF check (403)', async () => {
    const message = 'CSRF check failed: The CSRF token is missing. (send the X-CSRFToken header)'
    vi.stubGlobal('fetch', respond(403, { error: message }))
    await expect(setLabel(1, '3')).rejects.toMatchObject({ message, status: 403 })
  })

  it('asks for the session again after a 401 or a refused write, not after a failed login', async () => {
    const changed = vi.fn()
    onSessionChanged(changed)
    try {
      vi.stubGlobal('fetch', respond(401, { error: 'log in first' }))
      await expect(nextItem()).rejects.toMatchObject({ status: 401 })
      expect(changed).toHaveBeenCalledTimes(1)
      vi.stubGlobal('fetch', respond(403, { error: 'CSRF check failed' }))
      await expect(setLabel(1, '3')).rejects.toMatchObject({ status: 403 })
      expect(changed).toHaveBeenCalledTimes(2)
      vi.stubGlobal('fetch', respond(401, { error: 'wrong username or password' }))
      await expect(login('alice', 'nope')).rejects.toMatchObject({ status: 401 })
      vi.stubGlobal('fetch', respond(409, { error: 'conflict' }))
      await expect(setLabel(1, '3')).rejects.toMatchObject({ status: 409 })
      expect(changed).toHaveBeenCalledTimes(2)
    } finally {
      onSessionChanged(null)
    }
  })
})
