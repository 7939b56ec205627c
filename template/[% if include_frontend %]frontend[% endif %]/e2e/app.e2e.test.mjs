// End-to-end: Debian's Chromium (playwright-core, no downloaded browsers) against the real backend
// serving the built app. Run by the project's pytest (`make test-e2e`), which starts the server and
// sets E2E_BASE_URL, E2E_IMAGES (an ImageFolder tree) and E2E_ARTIFACTS (screenshots).
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { chromium } from 'playwright-core'

const baseURL = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:5000'
const images = process.env.E2E_IMAGES ?? '../data/raw'
const artifacts = process.env.E2E_ARTIFACTS ?? 'test-results'
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
mkdirSync(artifacts, { recursive: true })

// One image per class, in class order: [{ label, path }]
const samples = readdirSync(images, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()
  .map((label) => ({ label, path: join(images, label, readdirSync(join(images, label)).sort()[0]) }))

let browser
let page

before(async () => {
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  })
  page = await browser.newPage({ baseURL })
  page.setDefaultTimeout(15000)
})

after(async () => browser?.close())

test('predict: an uploaded sample image gets a class, probabilities, version and latency', async () => {
  await page.goto('/')
  await page.locator('[data-test="file-input"]').setInputFiles(samples[0].path)
  const prediction = page.locator('[data-test="prediction"]')
  await prediction.waitFor()
  const classes = samples.map((sample) => sample.label)
  assert.ok(classes.includes(await prediction.textContent()), 'prediction is one of the classes')
  assert.equal(await page.locator('[data-test="bar"]').count(), classes.length)
  assert.match(await page.locator('[data-test="model-version"]').textContent(), /\S+/)
  assert.match(await page.locator('[data-test="latency"]').textContent(), /^[\d.]+ ms$/)
  await page.screenshot({ path: join(artifacts, 'predict.png'), fullPage: true })
})

test('predict: a digit drawn with the mouse is classified', async () => {
  await page.goto('/')
  const pad = await page.locator('[data-test="draw-pad"]').boundingBox()
  await page.mouse.move(pad.x + 50, pad.y + 30)
  await page.mouse.down()
  await page.mouse.move(pad.x + 110, pad.y + 30, { steps: 8 })
  await page.mouse.move(pad.x + 70, pad.y + 135, { steps: 8 })
  await page.mouse.up()
  const prediction = page.locator('[data-test="prediction"]')
  await prediction.waitFor()
  assert.ok(samples.map((sample) => sample.label).includes(await prediction.textContent()))
})

test('predict: a file that is not an image shows the backend error', async () => {
  await page.goto('/')
  await page.locator('[data-test="file-input"]').setInputFiles({
    name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image'),
  })
  const error = page.locator('[data-test="error"]')
  await error.waitFor()
  assert.match(await error.textContent(), /image/i)
  await page.screenshot({ path: join(artifacts, 'predict-error.png'), fullPage: true })
})

test('annotate: queue two images, label by click and by key, export, see them in the backend', async () => {
  const [first, second] = samples.slice(1, 3)
  await page.goto('/annotate')
  await page.locator('[data-test="queue-input"]').setInputFiles([first.path, second.path])
  await page.locator('[data-test="notice"]').filter({ hasText: '2 added' }).waitFor()
  const current = page.locator('[data-test="current-item"]')
  await current.waitFor()
  await page.locator(`[data-test="label-${first.label}"]`).click()
  await page.locator('[data-test="progress"]').filter({ hasText: /^1 \// }).waitFor()
  await page.keyboard.press(second.label)
  await page.locator('[data-test="all-done"]').waitFor()
  await page.locator('[data-test="export"]').click()
  await page.locator('[data-test="notice"]').filter({ hasText: '2 labelled images exported' }).waitFor()
  await page.screenshot({ path: join(artifacts, 'annotate.png'), fullPage: true })

  const response = await page.request.get('/api/annotations/items?labeled=true')
  assert.equal(response.status(), 200)
  const labelled = (await response.json()).items.map((item) => [item.original_name, item.label])
  assert.deepEqual(labelled.sort(), [
    [first.path.split('/').at(-1), first.label],
    [second.path.split('/').at(-1), second.label],
  ].sort())
})

test('models: the serving version is listed as active with its accuracy', async () => {
  await page.goto('/models')
  await page.locator('[data-test="active"]').waitFor()
  const serving = await page.locator('[data-test="serving"]').textContent()
  const activeRow = page.locator('[data-test="model-row"]').filter({ has: page.locator('[data-test="active"]') })
  assert.match(await activeRow.textContent(), new RegExp(serving))
  assert.match(await activeRow.textContent(), /0\.\d{4}/)
  await page.screenshot({ path: join(artifacts, 'models.png'), fullPage: true })
  await page.getByRole('link', { name: 'annotation guide' }).click()
  await page.locator('[data-test="guide"]').filter({ hasText: 'Annotation guide' }).waitFor()
  await page.screenshot({ path: join(artifacts, 'guide.png'), fullPage: true })
})
