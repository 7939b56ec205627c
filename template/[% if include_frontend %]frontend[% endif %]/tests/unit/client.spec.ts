import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, nextItem, predict, setIdentity, setLabel } from '../../src/api/client'

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
  localStorage.clear()
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

  it('sends the annotator and the token with every request', async () => {
    const fetchMock = respond(200, { item: null })
    vi.stubGlobal('fetch', fetchMock)
    setIdentity({ annotator: ' alice ', token: 's3cret' })
    await nextItem({ order: 'uncertainty' })
    const request = sent(fetchMock)
    expect(relative(request)).toBe('/api/annotations/next?order=uncertainty&queue=unlabeled')
    expect(request.headers.get('X-Annotator')).toBe('alice')
    expect(request.headers.get('Authorization')).toBe('Bearer s3cret')
  })
})
