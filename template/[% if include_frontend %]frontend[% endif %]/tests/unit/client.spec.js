import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, nextItem, predict, setIdentity, setLabel } from '../../src/api/client.js'

function respond(status, body, statusText = '') {
  return vi.fn().mockResolvedValue(
    new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, statusText }),
  )
}

afterEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
})

describe('api client', () => {
  it('returns the prediction body on success', async () => {
    vi.stubGlobal('fetch', respond(200, { label: '7', confidence: 0.9 }))
    const body = await predict(new File(['x'], 'x.png'))
    expect(body.label).toBe('7')
    const [path, options] = fetch.mock.calls[0]
    expect(path).toBe('/api/predict')
    expect(options.body.get('image').name).toBe('x.png')
  })

  it("surfaces the backend's JSON error message and status", async () => {
    vi.stubGlobal('fetch', respond(415, { error: 'not an image: unsupported format' }))
    const failure = predict(new File(['x'], 'x.txt'))
    await expect(failure).rejects.toThrow('not an image: unsupported format')
    await expect(failure).rejects.toMatchObject({ status: 415 })
  })

  it('explains a backend that cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')))
    await expect(predict(new File(['x'], 'x.png'))).rejects.toThrow(/Cannot reach the backend/)
  })

  it('explains a proxy error page from a backend that is down', async () => {
    vi.stubGlobal('fetch', respond(502, '<html>Bad Gateway</html>', 'Bad Gateway'))
    await expect(predict(new File(['x'], 'x.png'))).rejects.toBeInstanceOf(ApiError)
    await expect(predict(new File(['x'], 'x.png'))).rejects.toThrow(/backend is down/)
  })

  it('sends labels as JSON and escapes the item id', async () => {
    vi.stubGlobal('fetch', respond(200, { item: {}, progress: {} }))
    await setLabel('1/../2', '3')
    const [path, options] = fetch.mock.calls[0]
    expect(path).toBe('/api/annotations/items/1%2F..%2F2/label')
    expect(JSON.parse(options.body)).toEqual({ label: '3', accepted: false })
  })

  it('sends the annotator and the token with every request', async () => {
    vi.stubGlobal('fetch', respond(200, { item: null }))
    setIdentity({ annotator: ' alice ', token: 's3cret' })
    await nextItem({ order: 'uncertainty' })
    const [path, options] = fetch.mock.calls[0]
    expect(path).toBe('/api/annotations/next?order=uncertainty&queue=unlabeled')
    expect(options.headers).toEqual({ 'X-Annotator': 'alice', Authorization: 'Bearer s3cret' })
  })
})
