// The API key lives in this tab's sessionStorage only: never in a URL, a cookie or localStorage.
const KEY_NAME = "course-supporter.api-key";

export function storedKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}
