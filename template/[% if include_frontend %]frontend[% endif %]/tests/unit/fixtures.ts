// Full objects of the document's types (src/api/schema.d.ts) for the unit tests: each factory
// fills every required field with something plausible; a test overrides only what it is about.
import type {
  Account,
  Agreement,
  AgreementPair,
  AuditEntry,
  EvaluationReport,
  EvaluationSummary,
  Item,
  ItemAndProgress,
  Label,
  LogSummary,
  LowConfidenceQueued,
  ModelList,
  ModelVersion,
  NextItem,
  PredictionLogPage,
  Progress,
  QueueResult,
  ReviewList,
  ServingSelection,
  SessionState,
  Suggestion,
} from '../../src/api/client'

const AT = '2026-01-01T12:00:00+00:00' // the backend's timestamps carry their offset

export const progress = (fields: Partial<Progress> = {}): Progress => ({
  total: 0,
  labeled: 0,
  disputed: 0,
  ...fields,
})

export const suggestion = (fields: Partial<Suggestion> = {}): Suggestion => ({
  label: '2',
  confidence: 0.61,
  model_version: 'v1.0.0',
  ...fields,
})

export const label = (fields: Partial<Label> = {}): Label => ({
  id: 1,
  annotator: 'anonymous',
  kind: 'label',
  label: '0',
  accepted: false,
  created_at: AT,
  superseded_at: null,
  suggestion_label: null,
  suggestion_confidence: null,
  ...fields,
})

export const item = (id: number, fields: Partial<Item> = {}): Item => ({
  id,
  original_name: `img${id}.png`,
  image_url: `/img/${id}`,
  sha256: `sha${id}`,
  status: 'queued',
  label: null,
  labeled_at: null,
  labels: [],
  suggestion: suggestion(),
  ...fields,
})

export const nextItem = (fields: Partial<NextItem> = {}): NextItem => ({
  item: null,
  classes: [],
  order: 'oldest',
  queue: 'unlabeled',
  progress: progress(),
  ...fields,
})

export const itemAndProgress = (fields: Partial<ItemAndProgress> = {}): ItemAndProgress => ({
  item: item(1),
  progress: progress(),
  ...fields,
})

export const queueResult = (fields: Partial<QueueResult> = {}): QueueResult => ({
  added: [],
  duplicates: 0,
  rejected: [],
  progress: progress(),
  ...fields,
})

export const agreement = (fields: Partial<Agreement> = {}): Agreement => ({
  items_compared: 0,
  percent_agreement: null,
  cohen_kappa: null,
  annotators: [],
  pairs: [],
  ...fields,
})

export const agreementPair = (fields: Partial<AgreementPair> = {}): AgreementPair => ({
  annotators: ['alice', 'bob'],
  items_compared: 0,
  percent_agreement: null,
  cohen_kappa: null,
  ...fields,
})

export const reviewList = (fields: Partial<ReviewList> = {}): ReviewList => ({
  items: [],
  classes: [],
  agreement: agreement(),
  progress: progress(),
  ...fields,
})

export const modelVersion = (fields: Partial<ModelVersion> = {}): ModelVersion => ({
  id: 1,
  version: 'v1',
  precision: 'int8',
  sha256: '0'.repeat(64),
  size_bytes: 100_000,
  created_at: AT,
  active: false,
  metrics: {},
  ...fields,
})

export const modelList = (fields: Partial<ModelList> = {}): ModelList => ({
  models: [],
  serving: null,
  engine: null,
  selection: null,
  ...fields,
})

export const servingSelection = (fields: Partial<ServingSelection> = {}): ServingSelection => ({
  chosen: 'openvino/int8',
  reason:
    'fastest passing, p50 0.200 ms = 3.10x onnxruntime/fp32 (0.620 ms) on Test CPU [avx512-vnni]',
  trials: [
    {
      candidate: 'onnxruntime/fp32',
      precision: 'fp32',
      passed: true,
      latency_p50_ms: 0.62,
      calls: 80,
      detail: 'passed',
    },
    {
      candidate: 'openvino/int8',
      precision: 'int8',
      passed: true,
      latency_p50_ms: 0.2,
      calls: 90,
      detail: 'passed',
    },
    {
      candidate: 'onnxruntime/int8',
      precision: 'int8',
      passed: false,
      latency_p50_ms: null,
      calls: 0,
      detail: 'golden set FAILED',
    },
  ],
  host: { cpu: 'Test CPU', instruction_set: 'avx512-vnni', machine: 'x86_64' },
  pinned: false,
  cached: false,
  ...fields,
})

export const logSummary = (fields: Partial<LogSummary> = {}): LogSummary => ({
  enabled: true,
  keep_images: true,
  auto_queue: false,
  max_rows: 10000,
  threshold: 0.6,
  logged: 0,
  low_confidence: 0,
  ready_to_queue: 0,
  ...fields,
})

export const predictionLog = (summary: Partial<LogSummary> = {}): PredictionLogPage => ({
  summary: logSummary(summary),
  predictions: [],
})

export const lowConfidenceQueued = (
  fields: Partial<LowConfidenceQueued> = {},
): LowConfidenceQueued => ({
  queued: 0,
  duplicates: 0,
  skipped: 0,
  threshold: 0.6,
  progress: progress(),
  ...fields,
})

// A two-class report (a, b): F1 per class as given, two confident mistakes.
export const evaluationReport = (
  name: string,
  [f1a, f1b]: [number, number],
  fields: Partial<EvaluationReport> = {},
): EvaluationReport => ({
  name,
  model: { architecture: 'SmallCNN', parameters: 9000 },
  classes: ['a', 'b'],
  samples: 10,
  accuracy: 0.8,
  f1_macro: (f1a + f1b) / 2,
  misclassified_total: 2,
  per_class: [
    { class: 'a', precision: 0.75, recall: 1, f1: f1a, support: 5 },
    { class: 'b', precision: 1, recall: 0.6, f1: f1b, support: 5 },
  ],
  confusion: [
    [5, 0],
    [2, 3],
  ],
  history: { epoch: [1, 2, 3], train_loss: [1.2, 0.5, 0.3], val_accuracy: [0.6, 0.9, 0.95] },
  misclassified: [0.91, 0.62].map((confidence, index) => ({
    url: `/api/evaluation/${name}/misclassified/${index}`,
    image: `misclassified/${index}.png`,
    true: 'b',
    predicted: 'a',
    confidence,
    source: `data/raw/b/${index + 1}.png`,
  })),
  benchmark: { latency_p50_ms: 0.1, latency_p99_ms: 0.3, size_bytes: 40000, int8_accuracy: 0.8 },
  ...fields,
})

// What GET /api/evaluation lists for a report.
export const evaluationSummary = (report: EvaluationReport): EvaluationSummary => {
  const { name, accuracy, f1_macro, samples, misclassified_total, model, benchmark } = report
  return { name, accuracy, f1_macro, samples, misclassified_total, model, benchmark }
}

export const account = (fields: Partial<Account> = {}): Account => ({
  id: 1,
  username: 'alice',
  role: 'annotator',
  active: true,
  created_at: AT,
  ...fields,
})

export const sessionState = (fields: Partial<SessionState> = {}): SessionState => ({
  user: null,
  csrf_token: 'csrf-token',
  auth_required: true,
  ...fields,
})

export const auditEntry = (id: number, fields: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  created_at: AT,
  actor: 'adam',
  action: 'user.create',
  target: `user:${id}`,
  address: '127.0.0.1',
  detail: {},
  ...fields,
})
