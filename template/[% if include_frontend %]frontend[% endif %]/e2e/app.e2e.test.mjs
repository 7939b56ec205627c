// End-to-end: Debian's Chromium (playwright-core, no downloaded browsers) against the real backend
// serving the built app. Run by the project's pytest (`make test-e2e`), which starts the server and
// sets E2E_BASE_URL, E2E_IMAGES (an ImageFolder tree) and E2E_ARTIFACTS (screenshots). The
// database holds the test accounts (tests/serving/conftest.py): alice and bob (annotators), rita
// (reviewer) and adam (admin), each with the password `<name>-long-password`.
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

const classes = readdirSync(images, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()
const filesOf = (label) =>
  readdirSync(join(images, label))
    .sort()
    .map((name) => join(images, label, name))
// One image per class, in class order: [{ label, path }]
const samples = classes.map((label) => ({ label, path: filesOf(label)[0] }))
// Fifty more for bulk labeling: five per class, none of them among the samples
const fifty = classes.flatMap((label) => filesOf(label).slice(1, 6))

let browser
let page

before(async () => {
  browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
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
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('not an image'),
  })
  const error = page.locator('[data-test="error"]')
  await error.waitFor()
  assert.match(await error.textContent(), /image/i)
  await page.screenshot({ path: join(artifacts, 'predict-error.png'), fullPage: true })
})

// Labeling or changing a control reloads the queue and the recent labels; wait for both answers
// so the next step never meets a page that is still busy.
async function nextAfter(action) {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().includes('/api/annotations/next') && r.request().method() === 'GET',
    ),
    page.waitForResponse((r) => r.url().includes('/api/annotations/items?labeled_by=')),
    action(),
  ])
  return (await response.json()).item
}

const password = (name) => `${name}-long-password`

// On the Login page: log in, and wait for the nav to name the account.
async function logIn(name) {
  await page.locator('[data-test="login-username"]').fill(name)
  await page.locator('[data-test="login-password"]').fill(password(name))
  await page.locator('[data-test="login-submit"]').click()
  await page.locator('[data-test="whoami"]').filter({ hasText: name }).waitFor()
}

// Log out from a page that needs an account: the Login page follows, to come back after logging in.
async function logOutTo(path) {
  await page.locator('[data-test="logout"]').click()
  await page.locator('[data-test="login-link"]').waitFor()
  await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === path)
}

async function getJson(path) {
  const response = await page.request.get(path)
  assert.equal(response.status(), 200)
  return response.json()
}

test('login: Annotate asks for an account, a wrong password is refused, alice logs in', async () => {
  await page.goto('/annotate')
  await page.waitForURL((url) => url.pathname === '/login')
  assert.equal(new URL(page.url()).searchParams.get('next'), '/annotate')
  await page.locator('[data-test="login-link"]').waitFor() // nobody is logged in
  await page.locator('[data-test="login-username"]').fill('alice')
  await page.locator('[data-test="login-password"]').fill('not-her-password')
  await page.locator('[data-test="login-submit"]').click()
  await page
    .locator('[data-test="error"]')
    .filter({ hasText: 'wrong username or password' })
    .waitFor()
  await page.screenshot({ path: join(artifacts, 'login.png'), fullPage: true })
  await nextAfter(() => logIn('alice'))
  await page.waitForURL((url) => url.pathname === '/annotate') // back where the login was asked for
  assert.equal(await page.locator('[data-test="whoami"]').textContent(), 'alice (annotator)')
  assert.match(await page.locator('[data-test="labeling-as"]').textContent(), /Labeling as alice/)
  const { user } = await getJson('/api/auth/session')
  assert.deepEqual([user.username, user.role], ['alice', 'annotator'])
})

test('login: an annotator sees no Users or Audit, and the backend refuses them too', async () => {
  assert.equal(await page.locator('[data-test="nav-users"]').count(), 0)
  assert.equal(await page.locator('[data-test="nav-audit"]').count(), 0)
  for (const path of ['/users', '/audit']) {
    await page.goto(path)
    await page
      .locator('[data-test="needs-role"]')
      .filter({ hasText: 'alice is annotator' })
      .waitFor()
    assert.equal(new URL(page.url()).searchParams.get('next'), path)
  }
  for (const path of ['/api/users', '/api/audit']) {
    assert.equal((await page.request.get(path)).status(), 403, `${path} needs an admin`)
  }
  const write = await page.request.post('/api/annotations/export')
  assert.equal(write.status(), 403, 'export needs a reviewer (and the CSRF header)')
})

test('account: alice makes an API token, shown once; a script with it acts as alice', async () => {
  await page.locator('[data-test="whoami"]').click()
  await page.waitForURL((url) => url.pathname === '/account')
  await page.locator('[data-test="token-name"]').fill('script')
  await page.locator('[data-test="create-token"]').click()
  const issued = page.locator('[data-test="issued-token"] code')
  await issued.waitFor()
  const secret = await issued.textContent()
  await page.locator('[data-test="token-row"]').filter({ hasText: 'script' }).waitFor()
  const script = await browser.newContext({ baseURL }) // no cookies: only the token
  try {
    const headers = { Authorization: `Bearer ${secret}` }
    const response = await script.request.get('/api/auth/session', { headers })
    assert.equal((await response.json()).user.username, 'alice')
    const anonymous = await script.request.get('/api/annotations/stats')
    assert.equal(anonymous.status(), 401, 'without the token: not logged in')
  } finally {
    await script.close()
  }
})

test('annotate: queue two images, label by click and by key, see them in the backend', async () => {
  const [first, second] = samples.slice(1, 3)
  await nextAfter(() => page.goto('/annotate'))
  await page.locator('[data-test="queue-input"]').setInputFiles([first.path, second.path])
  await page.locator('[data-test="notice"]').filter({ hasText: '2 added' }).waitFor()
  const current = page.locator('[data-test="current-item"]')
  await current.waitFor()
  await page.locator(`[data-test="label-${first.label}"]`).click()
  await page.locator('[data-test="progress"]').filter({ hasText: /^1 \// }).waitFor()
  await page.keyboard.press(second.label)
  await page.locator('[data-test="all-done"]').waitFor()
  assert.equal(await page.locator('[data-test="export"]').count(), 0, 'exporting needs a reviewer')
  await page.screenshot({ path: join(artifacts, 'annotate.png'), fullPage: true })

  const response = await page.request.get('/api/annotations/items?labeled=true')
  assert.equal(response.status(), 200)
  const labeled = (await response.json()).items.map((item) => [item.original_name, item.label])
  assert.deepEqual(
    labeled.sort(),
    [
      [first.path.split('/').at(-1), first.label],
      [second.path.split('/').at(-1), second.label],
    ].sort(),
  )
})

test('annotate: 50 queued images get suggestions, Enter accepts ten, uncertainty order shows the least confident first', async () => {
  await page.goto('/annotate')
  await page.locator('[data-test="queue-input"]').setInputFiles(fifty)
  await page
    .locator('[data-test="notice"]')
    .filter({ hasText: '50 added, 0 already queued' })
    .waitFor()
  const bar = page.locator('[data-test="upload-progress"]')
  assert.deepEqual([await bar.getAttribute('value'), await bar.getAttribute('max')], ['50', '50'])

  const current = page.locator('[data-test="current-item"]')
  await page.locator('h1').click() // keys go to the page, not to a form control
  for (let i = 0; i < 10; i += 1) {
    const id = await current.getAttribute('data-item-id')
    const suggested = await page.locator('[data-test="suggested-label"]').textContent()
    assert.ok(classes.includes(suggested), 'the suggestion is one of the classes')
    assert.match(
      await page.locator(`[data-test="label-${suggested}"]`).getAttribute('class'),
      /suggested/,
    )
    await page.keyboard.press('Enter')
    await page.locator(`[data-test="current-item"]:not([data-item-id="${id}"])`).waitFor()
  }
  await page.locator('[data-test="progress"]').filter({ hasText: '12 / 52 labeled' }).waitFor()
  const names = new Set(fifty.map((path) => path.split('/').at(-1)))
  const labeled = (await getJson('/api/annotations/items?labeled=true&limit=500')).items
  const accepted = labeled.filter((item) => names.has(item.original_name))
  assert.equal(accepted.length, 10)
  for (const item of accepted) {
    assert.deepEqual([item.labels[0].annotator, item.labels[0].accepted], ['alice', true])
    assert.equal(item.label, item.suggestion.label)
  }

  const unlabeled = (await getJson('/api/annotations/items?labeled=false&limit=500')).items
  assert.equal(unlabeled.length, 40)
  assert.ok(
    unlabeled.every((item) => item.suggestion),
    'every queued image has a suggestion',
  )
  const least = unlabeled.reduce((a, b) =>
    b.suggestion.confidence < a.suggestion.confidence ? b : a,
  )
  const shown = await nextAfter(() =>
    page.locator('[data-test="order"]').selectOption('uncertainty'),
  )
  assert.equal(shown.id, least.id, 'uncertainty order starts with the least confident item')
  await page.locator(`[data-test="current-item"][data-item-id="${least.id}"]`).waitFor()
  assert.equal(
    await page.locator('[data-test="suggestion-confidence"]').textContent(),
    least.suggestion.confidence.toFixed(3),
  )
  await page.screenshot({ path: join(artifacts, 'annotate-suggestions.png'), fullPage: true })

  const override = classes.find((name) => name !== least.suggestion.label)
  await page.locator('h1').click()
  await nextAfter(() => page.keyboard.press(override))
  const { history } = await getJson(`/api/annotations/items/${least.id}/history`)
  assert.deepEqual(
    history.map((row) => [row.annotator, row.label, row.accepted, row.suggestion_label]),
    [['alice', override, false, least.suggestion.label]],
  )

  // Relabel it from the recent list: the new label supersedes the old one, which stays in the history.
  const entry = page.locator(`[data-test="recent-item"][data-item-id="${least.id}"]`)
  await entry.locator('[data-test="relabel"]').click()
  await page.locator(`[data-test="current-item"][data-item-id="${least.id}"]`).waitFor()
  const relabel = classes.find((name) => name !== least.suggestion.label && name !== override)
  await nextAfter(() => page.keyboard.press(relabel))
  await entry.filter({ hasText: relabel }).waitFor()
  const after = (await getJson(`/api/annotations/items/${least.id}/history`)).history
  assert.deepEqual(
    after.map((row) => [row.label, row.superseded_at === null]),
    [
      [override, false],
      [relabel, true],
    ],
  )
})

test('review: two annotators disagree on an item, the Review view shows it and a reviewer settles it', async () => {
  await logOutTo('/annotate')
  await nextAfter(() => logIn('bob'))
  const item = await nextAfter(() =>
    page.locator('[data-test="queue"]').selectOption('second-opinion'),
  )
  assert.ok(item, "bob's second-opinion queue holds alice's labels")
  await page.locator(`[data-test="current-item"][data-item-id="${item.id}"]`).waitFor()
  const alices = item.labels.find((row) => row.annotator === 'alice').label
  const bobs = classes.find((name) => name !== alices)
  await page.locator('h1').click()
  await nextAfter(() => page.keyboard.press(bobs))
  await page.locator('[data-test="progress"]').filter({ hasText: '1 disputed' }).waitFor()

  await page.goto('/review')
  const row = page.locator(`[data-test="disputed-row"][data-item-id="${item.id}"]`)
  await row.waitFor()
  assert.equal(await row.locator('button').count(), 0, 'an annotator cannot settle')
  await page.locator('[data-test="review-needs-role"]').waitFor()
  assert.equal((await page.request.put(`/api/annotations/items/${item.id}/review`)).status(), 403)

  await logOutTo('/review')
  await logIn('rita')
  await page.waitForURL((url) => url.pathname === '/review')
  await row.waitFor()
  const votes = await row.locator('[data-test="vote"]').allTextContents()
  assert.deepEqual(votes.sort(), [`alice: ${alices}`, `bob: ${bobs}`].sort())
  assert.equal(await page.locator('[data-test="percent-agreement"]').textContent(), '0%')
  const pair = page.locator('[data-test="agreement-pair"][data-pair="alice+bob"]')
  assert.deepEqual((await pair.locator('td').allTextContents()).slice(0, 3), [
    'alice & bob',
    '1',
    '0%',
  ])
  assert.equal(
    await page.locator('[data-test="agreement-pair"]').count(),
    1,
    'one pair of accounts',
  )
  await page.screenshot({ path: join(artifacts, 'review.png'), fullPage: true })

  await row.locator(`[data-test="settle-${alices}"]`).click()
  await page.locator('[data-test="no-disputes"]').waitFor()
  const { item: settled } = await getJson(`/api/annotations/items/${item.id}/history`)
  assert.deepEqual([settled.status, settled.label], ['settled', alices])

  await page.goto('/annotate')
  await page.locator('[data-test="export"]').click()
  await page
    .locator('[data-test="notice"]')
    .filter({ hasText: '13 labeled images exported' })
    .waitFor()
})

test('users: the admin creates an account, changes its role, deactivates and reactivates it, sets its password', async () => {
  await logOutTo('/annotate')
  await page.goto('/login?next=/users')
  await logIn('adam')
  await page.locator('[data-test="nav-audit"]').waitFor()
  await page.waitForURL((url) => url.pathname === '/users')
  await page.locator('[data-test="user-row"]').first().waitFor()
  const names = await page
    .locator('[data-test="user-row"]')
    .evaluateAll((rows) => rows.map((row) => row.dataset.username))
  assert.deepEqual(names.sort(), ['adam', 'alice', 'bob', 'carol', 'rita'])

  await page.locator('[data-test="new-username"]').fill('dora')
  await page.locator('[data-test="new-password"]').fill(password('dora'))
  await page.locator('[data-test="new-role"]').selectOption('annotator')
  await page.locator('[data-test="create"]').click()
  await page
    .locator('[data-test="users-notice"]')
    .filter({ hasText: 'Created dora (annotator)' })
    .waitFor()
  const dora = page.locator('[data-test="user-row"][data-username="dora"]')
  await dora.locator('[data-test="role"]').selectOption('reviewer')
  await page
    .locator('[data-test="users-notice"]')
    .filter({ hasText: 'dora is now reviewer' })
    .waitFor()
  await dora.locator('[data-test="deactivate"]').click()
  await dora.locator('[data-test="status"]').filter({ hasText: 'deactivated' }).waitFor()
  await dora.locator('[data-test="reactivate"]').click()
  await dora
    .locator('[data-test="status"]')
    .filter({ hasText: /^active$/ })
    .waitFor()
  await dora.locator('[data-test="set-password-input"]').fill('a-new-long-password-for-dora')
  await dora.locator('[data-test="set-password"]').click()
  await page
    .locator('[data-test="users-notice"]')
    .filter({ hasText: 'New password set for dora' })
    .waitFor()
  await page.screenshot({ path: join(artifacts, 'users.png'), fullPage: true })
  const { users } = await getJson('/api/users')
  const stored = users.find((user) => user.username === 'dora')
  assert.deepEqual([stored.role, stored.active], ['reviewer', true])
})

test("audit: the admin's log lists the writes newest first, pages back and filters by actor", async () => {
  await page.goto('/audit?limit=10')
  const rows = page.locator('[data-test="audit-row"]')
  await rows.first().waitFor()
  const ids = async () => rows.evaluateAll((all) => all.map((row) => Number(row.dataset.eventId)))
  const first = await ids()
  assert.equal(first.length, 10)
  assert.deepEqual(
    [...first].sort((a, b) => b - a),
    first,
    'newest first',
  )
  assert.equal(await rows.first().getAttribute('data-action'), 'user.update', "adam's last write")
  await page.locator('[data-test="audit-older"]').click()
  await page.locator('[data-test="audit-row"]:nth-child(11)').waitFor()
  const both = await ids()
  assert.deepEqual(both.slice(0, 10), first)
  assert.ok(
    both.slice(10).every((id) => id < first.at(-1)),
    'older events after the newest',
  )

  await page.locator('[data-test="audit-actor"]').fill('rita')
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/audit?') && r.url().includes('actor=rita')),
    page.locator('[data-test="audit-filter"] button').click(),
  ])
  // the first page also held rita's export: wait until only rita's rows are left
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-test="audit-row"]')].every(
      (row) => row.dataset.actor === 'rita',
    ),
  )
  const actions = await rows.evaluateAll((all) => all.map((row) => row.dataset.action))
  assert.deepEqual(actions, ['logout', 'export', 'review', 'login'])

  await page.goto('/audit')
  await rows.first().waitFor()
  const everyone = await rows.evaluateAll((all) =>
    all.map((row) => [row.dataset.actor, row.dataset.action]),
  )
  const has = (actor, action) => everyone.some(([a, b]) => a === actor && b === action)
  for (const [actor, action] of [
    ['alice', 'login.failed'],
    ['alice', 'login'],
    ['alice', 'label'],
    ['bob', 'label'],
    ['rita', 'review'],
    ['rita', 'export'],
    ['adam', 'user.create'],
    ['adam', 'user.update'],
  ])
    assert.ok(has(actor, action), `${actor} ${action} is in the audit log`)
  assert.equal(everyone.filter(([a, b]) => a === 'alice' && b === 'label').length, 14)
  await page.screenshot({ path: join(artifacts, 'audit.png'), fullPage: true })
})

test('models: the serving version is listed as active with its accuracy', async () => {
  await page.goto('/models')
  await page.locator('[data-test="active"]').waitFor()
  const serving = await page.locator('[data-test="serving"]').textContent()
  const activeRow = page
    .locator('[data-test="model-row"]')
    .filter({ has: page.locator('[data-test="active"]') })
  assert.match(await activeRow.textContent(), new RegExp(serving))
  assert.match(await activeRow.textContent(), /0\.\d{4}/)
  await page
    .locator('[data-test="prediction-log"]')
    .filter({ hasText: 'PREDICTION_LOG=1' })
    .waitFor()
  await page.screenshot({ path: join(artifacts, 'models.png'), fullPage: true })
  await page.getByRole('link', { name: 'annotation guide' }).click()
  await page.locator('[data-test="guide"]').filter({ hasText: 'Annotation guide' }).waitFor()
  await page.screenshot({ path: join(artifacts, 'guide.png'), fullPage: true })
})

// A canvas Chart.js drew on: some pixels are not background.
const drawnPixels = (locator) =>
  locator.locator('canvas').evaluate((canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let drawn = 0
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn += 1
    return drawn
  })

test('evaluation: heat map, training curves, misclassified gallery and two models side by side', async () => {
  await page.goto('/evaluation')
  await page.locator('[data-test="per-class-row"]').first().waitFor()
  const report = await getJson('/api/evaluation/teacher')
  assert.equal(await page.locator('[data-test="per-class-row"]').count(), report.classes.length)
  assert.equal(
    await page.locator('[data-test="accuracy"]').textContent(),
    report.accuracy.toFixed(4),
  )
  assert.ok(
    (await drawnPixels(page.locator('[data-test="heatmap"]'))) > 1000,
    'the heat map is drawn',
  )
  assert.ok(
    (await drawnPixels(page.locator('[data-test="curves"]'))) > 1000,
    'the curves are drawn',
  )
  const thumbs = page.locator('[data-test="misclassified"]')
  assert.equal(await thumbs.count(), report.misclassified.length)
  if (report.misclassified.length) {
    const first = report.misclassified[0]
    assert.equal(
      await thumbs.first().textContent(),
      `true ${first.true} → ${first.predicted}${(first.confidence * 100).toFixed(1)}%`,
    )
    assert.ok(
      await thumbs
        .first()
        .locator('img')
        .evaluate((img) => img.complete && img.naturalWidth > 0),
      'the image loads',
    )
  }
  await page.locator('[data-test="comparison"]').waitFor()
  assert.ok(
    (await drawnPixels(page.locator('[data-test="comparison-chart"]'))) > 1000,
    'the comparison is drawn',
  )
  await page.screenshot({ path: join(artifacts, 'evaluation.png'), fullPage: true })
  if (report.misclassified.length) {
    await thumbs.first().click()
    const lightbox = page.locator('[data-test="lightbox"]')
    await lightbox.filter({ hasText: 'confidence' }).waitFor()
    await page.screenshot({ path: join(artifacts, 'evaluation-enlarged.png') })
    await lightbox.click()
    await lightbox.waitFor({ state: 'detached' })
  }
})
