// Loading and error state for the requests a view makes: one copy of the try/catch.
import { ref } from 'vue'

export function useRequest() {
  const error = ref('') // the last failure's message, shown by ErrorBanner
  const busy = ref(false) // a request is running: buttons that start another are disabled
  const loading = ref(true) // nothing has arrived yet: true until the first request settles

  // The action's result, or undefined when it failed (its message is then in `error`).
  async function run<T>(action: () => Promise<T>): Promise<T | undefined> {
    error.value = ''
    busy.value = true
    try {
      return await action()
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
      return undefined
    } finally {
      busy.value = false
      loading.value = false
    }
  }

  return { error, busy, loading, run }
}
